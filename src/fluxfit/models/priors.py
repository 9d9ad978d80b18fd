"""Priors on parameter values, vectorised for samplers.

Every prior works on plain floats expressed in the unit of the parameter it is
attached to. ``logpdf(value)`` returns the natural log of the normalised
probability density (``-inf`` outside the support); ``ppf(u)`` maps the unit
interval to values (the inverse CDF, used by nested samplers); ``cdf(value)``
is its inverse. All three accept arrays of any shape.

Examples
--------
>>> import numpy as np
>>> from fluxfit.models import LogNormalPrior
>>> prior = LogNormalPrior(mu=np.log(300.0), sigma=2.0)
>>> float(prior.ppf(0.5))  # the median is exp(mu)
300.0000000000001
"""

from __future__ import annotations

import numpy as np
from scipy import special

from fluxfit.errors import ModelError, PriorError, short_repr

__all__ = [
    "Prior",
    "UniformPrior",
    "LogUniformPrior",
    "GaussianPrior",
    "LogNormalPrior",
    "TruncatedGaussianPrior",
    "PRIOR_REGISTRY",
    "prior_from_dict",
]

_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)


def _finite(name: str, value, owner: str) -> float:
    value = float(value)
    if not np.isfinite(value):
        raise PriorError(f"{owner}: {name}={short_repr(value)} must be a finite number")
    return value


class Prior:
    """Base class of priors.

    Subclasses define ``_fields`` (the names of their hyper-parameters, in the
    order of the constructor) and the methods ``logpdf``, ``cdf`` and ``ppf``.
    """

    _fields: tuple[str, ...] = ()

    def _undefined(self, method: str):  # pragma: no cover - interface
        raise PriorError(f"{type(self).__name__} does not define {method}(); subclass Prior fully")

    def logpdf(self, value):  # pragma: no cover - interface
        """Natural log of the density at ``value``."""
        self._undefined("logpdf")

    def cdf(self, value):  # pragma: no cover - interface
        """Cumulative probability at ``value``."""
        self._undefined("cdf")

    def ppf(self, u):  # pragma: no cover - interface
        """Value at cumulative probability ``u`` (inverse of `cdf`)."""
        self._undefined("ppf")

    def pdf(self, value):
        """Probability density at ``value`` (same unit as the parameter)."""
        return np.exp(self.logpdf(value))

    def __call__(self, value):
        return self.pdf(value)

    @property
    def support(self) -> tuple[float, float]:
        """Lowest and highest values with non-zero density."""
        return (-np.inf, np.inf)

    @property
    def type(self) -> str:
        return type(self).__name__

    def to_dict(self) -> dict:
        """Serialisable form: ``{"type": ..., <hyper-parameters>}``."""
        out = {"type": self.type}
        for name in self._fields:
            out[name] = float(getattr(self, name))
        return out

    def copy(self) -> Prior:
        return type(self)(**{k: getattr(self, k) for k in self._fields})

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self._fields)

    def __hash__(self) -> int:
        return hash((self.type,) + tuple(getattr(self, k) for k in self._fields))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{self.type}({args})"


class UniformPrior(Prior):
    """Uniform density between ``min`` and ``max``."""

    _fields = ("min", "max")

    def __init__(self, min: float, max: float):
        self.min = _finite("min", min, "UniformPrior")
        self.max = _finite("max", max, "UniformPrior")
        if not self.max > self.min:
            raise PriorError(f"UniformPrior: max={self.max} must exceed min={self.min}")
        self._log_width = np.log(self.max - self.min)

    @property
    def support(self):
        return (self.min, self.max)

    def logpdf(self, value):
        value = np.asarray(value, dtype=float)
        inside = (value >= self.min) & (value <= self.max)
        return np.where(inside, -self._log_width, -np.inf)

    def cdf(self, value):
        value = np.asarray(value, dtype=float)
        return np.clip((value - self.min) / (self.max - self.min), 0.0, 1.0)

    def ppf(self, u):
        return self.min + np.asarray(u, dtype=float) * (self.max - self.min)


class LogUniformPrior(Prior):
    """Density proportional to 1/value between ``min`` > 0 and ``max``."""

    _fields = ("min", "max")

    def __init__(self, min: float, max: float):
        self.min = _finite("min", min, "LogUniformPrior")
        self.max = _finite("max", max, "LogUniformPrior")
        if not self.min > 0:
            raise PriorError(f"LogUniformPrior: min={self.min} must be positive")
        if not self.max > self.min:
            raise PriorError(f"LogUniformPrior: max={self.max} must exceed min={self.min}")
        self._log_min = np.log(self.min)
        self._log_ratio = np.log(self.max) - self._log_min
        self._log_norm = np.log(self._log_ratio)

    @property
    def support(self):
        return (self.min, self.max)

    def logpdf(self, value):
        value = np.asarray(value, dtype=float)
        inside = (value >= self.min) & (value <= self.max)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = -np.log(value) - self._log_norm
        return np.where(inside, out, -np.inf)

    def cdf(self, value):
        value = np.asarray(value, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = (np.log(value) - self._log_min) / self._log_ratio
        return np.clip(np.where(value > 0, out, 0.0), 0.0, 1.0)

    def ppf(self, u):
        return np.exp(self._log_min + np.asarray(u, dtype=float) * self._log_ratio)


class GaussianPrior(Prior):
    """Normal density with mean ``mu`` and standard deviation ``sigma``."""

    _fields = ("mu", "sigma")

    def __init__(self, mu: float, sigma: float):
        self.mu = _finite("mu", mu, "GaussianPrior")
        self.sigma = _finite("sigma", sigma, "GaussianPrior")
        if not self.sigma > 0:
            raise PriorError(f"GaussianPrior: sigma={self.sigma} must be positive")
        self._log_norm = np.log(self.sigma) + _LOG_SQRT_2PI

    def logpdf(self, value):
        z = (np.asarray(value, dtype=float) - self.mu) / self.sigma
        return -0.5 * z * z - self._log_norm

    def cdf(self, value):
        return special.ndtr((np.asarray(value, dtype=float) - self.mu) / self.sigma)

    def ppf(self, u):
        return self.mu + self.sigma * special.ndtri(np.asarray(u, dtype=float))


class LogNormalPrior(Prior):
    """Log-normal density: ln(value) is normal with mean ``mu`` and width ``sigma``.

    Identical to astromodels' ``Log_normal``: ``mu`` and ``sigma`` are in natural
    log of the parameter value (in the parameter's unit), and the density is
    ``exp(-(ln x - mu)^2 / (2 sigma^2)) / (x sigma sqrt(2 pi))`` for x > 0.
    """

    _fields = ("mu", "sigma")

    def __init__(self, mu: float, sigma: float):
        self.mu = _finite("mu", mu, "LogNormalPrior")
        self.sigma = _finite("sigma", sigma, "LogNormalPrior")
        if not self.sigma > 0:
            raise PriorError(f"LogNormalPrior: sigma={self.sigma} must be positive")
        self._log_norm = np.log(self.sigma) + _LOG_SQRT_2PI

    @property
    def support(self):
        return (0.0, np.inf)

    def logpdf(self, value):
        value = np.asarray(value, dtype=float)
        positive = value > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_value = np.log(np.where(positive, value, 1.0))
        z = (log_value - self.mu) / self.sigma
        out = -0.5 * z * z - self._log_norm - log_value
        return np.where(positive, out, -np.inf)

    def cdf(self, value):
        value = np.asarray(value, dtype=float)
        positive = value > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_value = np.log(np.where(positive, value, 1.0))
        return np.where(positive, special.ndtr((log_value - self.mu) / self.sigma), 0.0)

    def ppf(self, u):
        return np.exp(self.mu + self.sigma * special.ndtri(np.asarray(u, dtype=float)))


class TruncatedGaussianPrior(Prior):
    """Normal density with mean ``mu`` and width ``sigma``, cut to [lower, upper]."""

    _fields = ("mu", "sigma", "lower", "upper")

    def __init__(self, mu: float, sigma: float, lower: float = -np.inf, upper: float = np.inf):
        self.mu = _finite("mu", mu, "TruncatedGaussianPrior")
        self.sigma = _finite("sigma", sigma, "TruncatedGaussianPrior")
        self.lower = float(lower)
        self.upper = float(upper)
        if not self.sigma > 0:
            raise PriorError(f"TruncatedGaussianPrior: sigma={self.sigma} must be positive")
        if np.isnan(self.lower) or np.isnan(self.upper) or not self.upper > self.lower:
            raise PriorError(
                f"TruncatedGaussianPrior: need lower < upper, got lower={self.lower}, "
                f"upper={self.upper}"
            )
        self._a = (self.lower - self.mu) / self.sigma
        self._b = (self.upper - self.mu) / self.sigma
        self._cdf_a = special.ndtr(self._a)
        mass = special.ndtr(self._b) - self._cdf_a
        if not mass > 0:
            # The interval lies far in a tail: use the log-space complement for accuracy.
            mass = np.exp(special.log_ndtr(self._b)) - np.exp(special.log_ndtr(self._a))
        if not mass > 0:
            raise PriorError(
                f"TruncatedGaussianPrior: [{self.lower}, {self.upper}] holds no probability "
                f"for mu={self.mu}, sigma={self.sigma}"
            )
        self._mass = mass
        self._log_norm = np.log(self.sigma) + _LOG_SQRT_2PI + np.log(mass)

    @property
    def support(self):
        return (self.lower, self.upper)

    def to_dict(self) -> dict:
        out = super().to_dict()
        # keep infinities readable in YAML (safe_load understands .inf)
        return out

    def logpdf(self, value):
        value = np.asarray(value, dtype=float)
        z = (value - self.mu) / self.sigma
        inside = (value >= self.lower) & (value <= self.upper)
        return np.where(inside, -0.5 * z * z - self._log_norm, -np.inf)

    def cdf(self, value):
        z = (np.asarray(value, dtype=float) - self.mu) / self.sigma
        return np.clip((special.ndtr(z) - self._cdf_a) / self._mass, 0.0, 1.0)

    def ppf(self, u):
        u = np.asarray(u, dtype=float)
        z = special.ndtri(self._cdf_a + u * self._mass)
        return np.clip(self.mu + self.sigma * z, self.lower, self.upper)


PRIOR_REGISTRY: dict[str, type[Prior]] = {
    cls.__name__: cls
    for cls in (
        UniformPrior,
        LogUniformPrior,
        GaussianPrior,
        LogNormalPrior,
        TruncatedGaussianPrior,
    )
}
# Names used by astromodels / Gammapy for the same densities.
PRIOR_REGISTRY.update(
    {
        "Uniform_prior": UniformPrior,
        "Log_uniform_prior": LogUniformPrior,
        "Gaussian": GaussianPrior,
        "Log_normal": LogNormalPrior,
        "Truncated_gaussian": TruncatedGaussianPrior,
    }
)


def prior_from_dict(data: dict, where: str = "prior") -> Prior:
    """Build a prior from ``{"type": name, **hyper-parameters}``.

    Parameters
    ----------
    data : dict
        Serialised prior, as written by `Prior.to_dict`.
    where : str
        Location used in error messages (file and key path).
    """
    if not isinstance(data, dict):
        raise ModelError(f"{where}: a prior must be a mapping, got {short_repr(data)}")
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in PRIOR_REGISTRY:
        raise ModelError(
            f"{where}: unknown prior type {short_repr(kind)}; known types: "
            f"{', '.join(sorted(c.__name__ for c in set(PRIOR_REGISTRY.values())))}"
        )
    cls = PRIOR_REGISTRY[kind]
    kwargs = {k: v for k, v in data.items() if k != "type"}
    unknown = set(kwargs) - set(cls._fields)
    if unknown:
        raise ModelError(
            f"{where}: {kind} takes {', '.join(cls._fields)}; unknown key(s) {sorted(unknown)}"
        )
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ModelError(f"{where}: {kind} needs {', '.join(cls._fields)}: {exc}") from None
    except (PriorError, ValueError) as exc:
        raise ModelError(f"{where}: {exc}") from None
