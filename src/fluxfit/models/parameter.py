"""Model parameters: values with units, bounds, priors, scaling and links.

A `Parameter` stores its value as a plain float in its own unit; units are
checked when values are set and converted once when a model is evaluated.
`Parameters` is an ordered collection with unique-object semantics: the same
`Parameter` object used by two models (an identity link) appears once.

Examples
--------
>>> from fluxfit.models import Parameter
>>> index = Parameter("index", 2.3, min=0, max=5)
>>> index.value = 2.5
>>> amplitude = Parameter("amplitude", "1e-12 cm-2 s-1 TeV-1")
>>> amplitude.quantity
<Quantity 1.e-12 1 / (TeV s cm2)>
"""

from __future__ import annotations

import numbers

import astropy.units as u
import numpy as np

from fluxfit.errors import ParameterError, UnitError, short_repr
from fluxfit.models.priors import Prior

__all__ = ["Parameter", "Parameters", "ParameterLink", "parse_unit"]


def parse_unit(unit, where: str = "unit") -> u.UnitBase:
    """Turn a string, unit or None into an astropy unit, with a clear error."""
    if unit is None or unit == "":
        return u.dimensionless_unscaled
    if isinstance(unit, u.UnitBase):
        return unit
    try:
        return u.Unit(unit)
    except (ValueError, TypeError) as exc:
        raise UnitError(f"{where}: cannot parse unit {short_repr(unit)} ({exc})") from None


def _as_bound(value, name: str, owner: str) -> float:
    if value is None:
        return np.nan
    if isinstance(value, u.Quantity):
        raise ParameterError(f"Parameter {owner!r}: give {name} as a number in the parameter unit")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(
            f"Parameter {owner!r}: {name}={short_repr(value)} is not a number"
        ) from None
    return value


class ParameterLink:
    """A functional link: ``value = scale * master + offset`` or ``function(master)``.

    The master value is converted to the unit of the linked parameter before
    ``scale`` and ``offset`` are applied (``offset`` is in the linked unit).
    ``function`` must be a picklable callable (a module-level function), taking
    and returning plain floats (or arrays, for batches).
    """

    def __init__(self, master: Parameter, scale: float = 1.0, offset: float = 0.0, function=None):
        if not isinstance(master, Parameter):
            raise ParameterError(f"a link needs a Parameter as master, got {master!r}")
        self.master = master
        self.scale = float(scale)
        self.offset = float(offset)
        self.function = function

    def value(self, target_unit: u.UnitBase, overrides=None):
        master_value = self.master.value_from(overrides)
        if self.function is not None:
            return self.function(master_value)
        return self.scale * master_value * self.master.factor_to(target_unit) + self.offset

    @property
    def is_simple(self) -> bool:
        """True when the link is ``scale * master + offset`` (it survives YAML)."""
        return self.function is None

    def __repr__(self) -> str:
        if self.function is not None:
            return f"ParameterLink({self.master.name!r}, function={self.function!r})"
        return f"ParameterLink({self.master.name!r}, scale={self.scale}, offset={self.offset})"


class Parameter:
    """A model parameter.

    Parameters
    ----------
    name : str
        Name, unique within its model (e.g. ``"index"``).
    value : float, str or `~astropy.units.Quantity`
        Value; a Quantity or a string such as ``"1e-12 cm-2 s-1 TeV-1"`` also
        sets the unit when ``unit`` is not given, otherwise it is converted.
    unit : str or `~astropy.units.Unit`, optional
        Unit of the value, bounds and error.
    min, max : float, optional
        Bounds in ``unit`` (NaN or None: unbounded). A value outside raises.
    frozen : bool
        Frozen parameters are not fitted.
    error : float
        1-sigma error in ``unit``.
    prior : `~fluxfit.models.Prior`, optional
        Prior density on the value (in ``unit``), for Bayesian analyses.
    scale : float
        Internal scale: optimisers see ``factor = value / scale``. Set by
        `autoscale` to a power of ten so that ``factor`` is of order one.
    is_norm : bool
        True for a normalisation-like parameter (used by estimators).
    interp : {"lin", "log"}
        Preferred spacing for scans.
    transform : {None, "log"}
        Space in which optimisers vary the parameter: ``"log"`` makes them see
        ``log10(value)`` (for positive normalisations spanning decades, as
        astromodels' log10 transformation); None, ``value / scale``.
    """

    def __init__(
        self,
        name: str,
        value,
        unit=None,
        min=None,
        max=None,
        frozen: bool = False,
        error: float = 0.0,
        prior: Prior | None = None,
        scale: float = 1.0,
        is_norm: bool = False,
        interp: str = "lin",
        transform: str | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise ParameterError(
                f"a parameter name must be a non-empty string, got {short_repr(name)}"
            )
        self.name = name
        self._link: ParameterLink | None = None
        self._factor_cache: dict = {}
        if isinstance(value, str) and unit is None:
            value = self._parse_quantity_string(value)
        if isinstance(value, u.Quantity) and unit is None:
            unit = value.unit
        self._unit = parse_unit(unit, f"Parameter {name!r}")
        self._min = _as_bound(min, "min", name)
        self._max = _as_bound(max, "max", name)
        if self._min > self._max:
            raise ParameterError(f"Parameter {name!r}: min={self._min} exceeds max={self._max}")
        self._value = np.nan
        self._value = self._validated(value)
        self.frozen = bool(frozen)
        self.error = error
        self.prior = prior
        self.scale = scale
        self.is_norm = bool(is_norm)
        if interp not in ("lin", "log"):
            raise ParameterError(f"Parameter {name!r}: interp={interp!r}; use 'lin' or 'log'")
        self.interp = interp
        self.transform = transform

    # ------------------------------------------------------------------ value
    def _parse_quantity_string(self, text: str):
        try:
            return u.Quantity(text)
        except (ValueError, TypeError):
            raise ParameterError(
                f"Parameter {self.name!r}: cannot read {text!r} as a number with a unit"
            ) from None

    def _validated(self, value) -> float:
        """Convert ``value`` to a float in this parameter's unit and check it."""
        if isinstance(value, Parameter):
            raise ParameterError(
                f"Parameter {self.name!r}: to share parameter {value.name!r} pass it to the "
                "model constructor or use link()"
            )
        if isinstance(value, str):
            value = self._parse_quantity_string(value)
        if isinstance(value, u.Quantity):
            try:
                value = value.to_value(self._unit)
            except u.UnitConversionError:
                raise UnitError(
                    f"Parameter {self.name!r}: value {value} has a unit incompatible with "
                    f"{self._unit.to_string()!r}"
                ) from None
        if isinstance(value, np.ndarray) and value.size == 1:
            value = value.reshape(())[()]
        if not isinstance(value, numbers.Real):
            raise ParameterError(f"Parameter {self.name!r}: value {value!r} is not a real number")
        value = float(value)
        if not np.isfinite(value):
            raise ParameterError(f"Parameter {self.name!r}: value {value} is not a finite number")
        if value < self._min or value > self._max:
            raise ParameterError(
                f"Parameter {self.name!r}: value {value} is outside its bounds "
                f"[{self._min}, {self._max}]"
            )
        return value

    @property
    def value(self) -> float:
        """Value in `unit` (follows the master for a linked parameter)."""
        if self._link is not None:
            return float(self._link.value(self._unit))
        return self._value

    @value.setter
    def value(self, value):
        if self._link is not None:
            raise ParameterError(
                f"Parameter {self.name!r} is linked to {self._link.master.name!r}; "
                "set the master or unlink() it first"
            )
        self._value = self._validated(value)

    def value_from(self, overrides=None):
        """Value in `unit`, taken from ``overrides`` (a mapping Parameter -> value
        or array) when present there; used to evaluate batches of parameter sets."""
        if overrides is not None and self in overrides:
            return overrides[self]
        if self._link is not None:
            return self._link.value(self._unit, overrides)
        return self._value

    @property
    def quantity(self) -> u.Quantity:
        """Value with its unit."""
        return u.Quantity(self.value, self._unit)

    @quantity.setter
    def quantity(self, quantity):
        self.value = u.Quantity(quantity)

    @property
    def unit(self) -> u.UnitBase:
        return self._unit

    @unit.setter
    def unit(self, unit):
        """Change the unit; the value, bounds and error are converted with it."""
        new = parse_unit(unit, f"Parameter {self.name!r}")
        try:
            factor = self._unit.to(new)
        except u.UnitConversionError:
            raise UnitError(
                f"Parameter {self.name!r}: cannot change unit {self._unit.to_string()!r} "
                f"to {new.to_string()!r}"
            ) from None
        self._value *= factor
        self._min *= factor
        self._max *= factor
        self._error *= factor
        self._unit = new
        self._factor_cache = {}

    def factor_to(self, unit: u.UnitBase) -> float:
        """Multiplicative factor converting this parameter's unit to ``unit`` (cached)."""
        entry = self._factor_cache.get(id(unit))
        if entry is not None and entry[0] is unit:
            return entry[1]
        try:
            factor = self._unit.to(unit)
        except u.UnitConversionError:
            raise UnitError(
                f"Parameter {self.name!r}: unit {self._unit.to_string()!r} is not "
                f"convertible to {unit.to_string()!r}"
            ) from None
        self._factor_cache[id(unit)] = (unit, factor)
        return factor

    # ----------------------------------------------------------------- bounds
    @property
    def min(self) -> float:
        return self._min

    @min.setter
    def min(self, value):
        value = _as_bound(value, "min", self.name)
        if self._link is None and self._value < value:
            raise ParameterError(
                f"Parameter {self.name!r}: min={value} is above the current value {self._value}"
            )
        self._min = value

    @property
    def max(self) -> float:
        return self._max

    @max.setter
    def max(self, value):
        value = _as_bound(value, "max", self.name)
        if self._link is None and self._value > value:
            raise ParameterError(
                f"Parameter {self.name!r}: max={value} is below the current value {self._value}"
            )
        self._max = value

    @property
    def bounds(self) -> tuple[float, float]:
        """``(min, max)``; NaN means unbounded. Set with a pair (None for no bound)."""
        return (self._min, self._max)

    @bounds.setter
    def bounds(self, bounds):
        try:
            low, high = bounds
        except (TypeError, ValueError):
            raise ParameterError(
                f"Parameter {self.name!r}: bounds must be a pair (min, max), got {bounds!r}"
            ) from None
        low = _as_bound(low, "min", self.name)
        high = _as_bound(high, "max", self.name)
        if low > high:
            raise ParameterError(f"Parameter {self.name!r}: min={low} exceeds max={high}")
        if self._link is None and (self._value < low or self._value > high):
            raise ParameterError(
                f"Parameter {self.name!r}: bounds [{low}, {high}] exclude the value {self._value}"
            )
        self._min, self._max = low, high

    @property
    def transform(self) -> str | None:
        """Optimiser space: None (``value / scale``) or ``"log"`` (``log10(value)``)."""
        return self._transform

    @transform.setter
    def transform(self, transform):
        if transform not in (None, "log"):
            raise ParameterError(
                f"Parameter {self.name!r}: transform={transform!r}; use None or 'log'"
            )
        self._transform = transform

    # ------------------------------------------------------ error, scale, ...
    @property
    def error(self) -> float:
        return self._error

    @error.setter
    def error(self, value):
        if isinstance(value, u.Quantity):
            value = value.to_value(self._unit)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"Parameter {self.name!r}: error {value!r} is not a number"
            ) from None
        if np.isnan(value) or value < 0:
            # NaN errors come from failed covariance estimates; keep them visible.
            if not np.isnan(value):
                raise ParameterError(f"Parameter {self.name!r}: error {value} is negative")
        self._error = value

    @property
    def prior(self) -> Prior | None:
        return self._prior

    @prior.setter
    def prior(self, prior):
        if prior is not None and not isinstance(prior, Prior):
            raise ParameterError(
                f"Parameter {self.name!r}: prior must be a fluxfit Prior, got {prior!r}"
            )
        self._prior = prior

    @property
    def scale(self) -> float:
        return self._scale

    @scale.setter
    def scale(self, value):
        value = float(value)
        if not np.isfinite(value) or value == 0:
            raise ParameterError(f"Parameter {self.name!r}: scale {value} must be finite, non-zero")
        self._scale = value

    @property
    def factor(self) -> float:
        """Value divided by `scale`: what optimisers see."""
        return self.value / self._scale

    @factor.setter
    def factor(self, factor):
        self.value = float(factor) * self._scale

    def autoscale(self) -> None:
        """Set `scale` to the power of ten of the value, so `factor` is in [1, 10)."""
        value = abs(self.value)
        self._scale = 10.0 ** np.floor(np.log10(value)) if value > 0 else 1.0

    # ------------------------------------------------------------------ links
    def link(self, master: Parameter, scale: float = 1.0, offset: float = 0.0, function=None):
        """Make this parameter follow ``master``.

        ``value = scale * master.value (converted to this unit) + offset`` or,
        with ``function``, ``value = function(master.value)``. A linked parameter is
        not free. For the same object in two models, pass the Parameter itself to
        the second model's constructor instead (identity link).
        """
        if master is self:
            raise ParameterError(f"Parameter {self.name!r} cannot be linked to itself")
        node = master
        while node is not None:
            if node is self:
                raise ParameterError(f"linking {self.name!r} to {master.name!r} would make a cycle")
            node = node._link.master if node._link is not None else None
        if function is None:
            try:
                master.factor_to(self._unit)
            except UnitError:
                raise UnitError(
                    f"cannot link {self.name!r} [{self._unit.to_string()}] to "
                    f"{master.name!r} [{master.unit.to_string()}]: incompatible units"
                ) from None
        elif not callable(function):
            raise ParameterError(
                f"Parameter {self.name!r}: link function {function!r} is not callable"
            )
        self._link = ParameterLink(master, scale=scale, offset=offset, function=function)

    def unlink(self) -> None:
        """Remove a functional link; the parameter keeps its current value."""
        if self._link is not None:
            current = self.value
            self._link = None
            self._value = current

    @property
    def link_info(self) -> ParameterLink | None:
        """The functional link, or None."""
        return self._link

    @property
    def is_linked(self) -> bool:
        return self._link is not None

    @property
    def is_free(self) -> bool:
        """True for a parameter an optimiser varies: not frozen and not linked."""
        return not self.frozen and self._link is None

    # ------------------------------------------------------------- utilities
    def copy(self) -> Parameter:
        """An independent copy (a link is kept, pointing to the same master)."""
        new = Parameter.__new__(Parameter)
        new.__dict__.update(self.__dict__)
        new._factor_cache = {}
        return new

    def to_dict(self) -> dict:
        """The community YAML form: name, value, unit, min, max, frozen, error (+prior)."""
        out = {
            "name": self.name,
            "value": float(self.value),
            "unit": self._unit.to_string(),
            "min": float(self._min),
            "max": float(self._max),
            "frozen": bool(self.frozen),
            "error": float(self._error),
        }
        if self._prior is not None:
            out["prior"] = self._prior.to_dict()
        return out

    def __str__(self) -> str:
        """One line: ``name = value +- error unit`` and the state (frozen, linked, prior)."""
        unit = self._unit.to_string()
        text = f"{self.name} = {self.value:.6g}"
        if self._error > 0:
            text += f" +- {self._error:.3g}"
        if unit:
            text += f" {unit}"
        state = []
        if self.frozen:
            state.append("frozen")
        if self._link is not None:
            state.append(f"linked to {self._link.master.name}")
        if self._prior is not None:
            state.append(f"prior {type(self._prior).__name__}")
        return text + (f" ({', '.join(state)})" if state else "")

    def _repr_html_(self) -> str:
        """A one-row HTML table (name, value, error, unit, bounds, frozen) for notebooks."""
        import html

        cells = [
            self.name,
            f"{self.value:.6g}",
            f"{self._error:.3g}",
            self._unit.to_string(),
            f"{self._min:.3g}",
            f"{self._max:.3g}",
            str(bool(self.frozen)),
        ]
        head = "".join(
            f"<th>{h}</th>" for h in ("name", "value", "error", "unit", "min", "max", "frozen")
        )
        row = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        return f"<table><tr>{head}</tr><tr>{row}</tr></table>"

    def __repr__(self) -> str:
        unit = self._unit.to_string()
        extra = " frozen" if self.frozen else ""
        if self._link is not None:
            extra += f" linked->{self._link.master.name}"
        return (
            f"Parameter(name={self.name!r}, value={self.value:.6g}, unit={unit!r}, "
            f"min={self._min:.6g}, max={self._max:.6g}, error={self._error:.3g}{extra})"
        )


class Parameters:
    """An ordered collection of unique `Parameter` objects with labels.

    Parameters
    ----------
    parameters : iterable of `Parameter`
        The parameters; an object given twice is kept once (first label wins).
    names : iterable of str, optional
        Labels to index by (e.g. ``"K_1"`` in a compound model, or
        ``"src1.spectral.kT"`` across models). Default: each parameter's name.
    covariance : array, optional
        Covariance matrix of the parameters, in their units.

    Examples
    --------
    >>> from fluxfit.models import Parameter, Parameters
    >>> a, b = Parameter("a", 1.0), Parameter("b", 2.0, frozen=True)
    >>> pars = Parameters([a, b, a])
    >>> len(pars), pars.free_parameters.names
    (2, ['a'])
    """

    def __init__(self, parameters=(), names=None, covariance=None):
        parameters = list(parameters)
        names = [p.name for p in parameters] if names is None else list(names)
        if len(names) != len(parameters):
            raise ParameterError(f"Parameters: {len(names)} names for {len(parameters)} parameters")
        self._parameters: list[Parameter] = []
        self._names: list[str] = []
        seen = set()
        for par, name in zip(parameters, names):
            if not isinstance(par, Parameter):
                raise ParameterError(f"Parameters holds Parameter objects, got {par!r}")
            if id(par) in seen:
                continue
            seen.add(id(par))
            self._parameters.append(par)
            self._names.append(name)
        self._covariance = None
        if covariance is not None:
            self.covariance = covariance

    # ------------------------------------------------------------- container
    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, item) -> bool:
        if isinstance(item, Parameter):
            return any(p is item for p in self._parameters)
        return item in self._names

    def index(self, key) -> int:
        """Position of a parameter given by object, label or unique plain name."""
        if isinstance(key, Parameter):
            for i, par in enumerate(self._parameters):
                if par is key:
                    return i
            raise ParameterError(f"Parameter {key.name!r} is not in this collection")
        if isinstance(key, numbers.Integral):
            if not -len(self) <= key < len(self):
                raise ParameterError(f"Parameters: index {key} out of range (size {len(self)})")
            return int(key) % len(self)
        if key in self._names:
            return self._names.index(key)
        matches = [i for i, p in enumerate(self._parameters) if p.name == key]
        matches += [i for i, n in enumerate(self._names) if n.rsplit(".", 1)[-1] == key]
        matches = sorted(set(matches))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ParameterError(
                f"Parameters: {key!r} is ambiguous; use one of {[self._names[i] for i in matches]}"
            )
        raise ParameterError(f"Parameters: no parameter {key!r}; known: {self._names}")

    def __getitem__(self, key):
        if isinstance(key, slice):
            return Parameters(self._parameters[key], self._names[key])
        if isinstance(key, (list, tuple, np.ndarray)) and not isinstance(key, str):
            idx = [self.index(k) for k in key]
            return Parameters([self._parameters[i] for i in idx], [self._names[i] for i in idx])
        return self._parameters[self.index(key)]

    @property
    def names(self) -> list[str]:
        """Labels, in order."""
        return list(self._names)

    def __add__(self, other: Parameters) -> Parameters:
        return Parameters(
            self._parameters + list(other._parameters), self._names + list(other._names)
        )

    # ---------------------------------------------------------- selections
    @property
    def free_parameters(self) -> Parameters:
        """The parameters an optimiser varies (not frozen, not linked)."""
        keep = [i for i, p in enumerate(self._parameters) if p.is_free]
        return Parameters([self._parameters[i] for i in keep], [self._names[i] for i in keep])

    @property
    def unique_parameters(self) -> Parameters:
        return self

    def freeze_all(self) -> None:
        for par in self._parameters:
            par.frozen = True

    def unfreeze_all(self) -> None:
        for par in self._parameters:
            par.frozen = False

    # ------------------------------------------------------- vector views
    @property
    def value(self) -> np.ndarray:
        """Values of all parameters, in their units, as a 1-D array."""
        return np.array([p.value for p in self._parameters], dtype=float)

    @value.setter
    def value(self, values):
        self._set_vector(self._parameters, values)

    @property
    def free_values(self) -> np.ndarray:
        """Values of the free parameters as a 1-D array (get and set)."""
        return np.array([p.value for p in self._parameters if p.is_free], dtype=float)

    @free_values.setter
    def free_values(self, values):
        self._set_vector([p for p in self._parameters if p.is_free], values)

    @staticmethod
    def _set_vector(parameters, values):
        values = np.asarray(values, dtype=float)
        if values.shape != (len(parameters),):
            raise ParameterError(
                f"Parameters: expected {len(parameters)} values, got shape {values.shape}"
            )
        old = [p._value for p in parameters]
        try:
            for par, val in zip(parameters, values):
                par.value = val
        except ParameterError:
            for par, val in zip(parameters, old):
                par._value = val
            raise

    @property
    def error(self) -> np.ndarray:
        return np.array([p.error for p in self._parameters], dtype=float)

    @property
    def min(self) -> np.ndarray:
        return np.array([p.min for p in self._parameters], dtype=float)

    @property
    def max(self) -> np.ndarray:
        return np.array([p.max for p in self._parameters], dtype=float)

    def autoscale(self) -> None:
        for par in self._parameters:
            par.autoscale()

    # ------------------------------------------------------------ covariance
    @property
    def covariance(self) -> np.ndarray:
        """Covariance matrix (units of the parameters); diag(error^2) if unset."""
        if self._covariance is not None:
            return self._covariance
        return np.diag(self.error**2)

    @covariance.setter
    def covariance(self, matrix):
        matrix = np.array(matrix, dtype=float)
        n = len(self)
        if matrix.shape != (n, n):
            raise ParameterError(
                f"Parameters: covariance must have shape ({n}, {n}), got {matrix.shape}"
            )
        if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=0, equal_nan=True):
            raise ParameterError("Parameters: covariance matrix is not symmetric")
        self._covariance = matrix
        diag = np.diag(matrix)
        for par, var in zip(self._parameters, diag):
            par.error = np.sqrt(var) if var >= 0 else np.nan

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix (NaN where an error is zero)."""
        cov = self.covariance
        err = np.sqrt(np.diag(cov))
        with np.errstate(divide="ignore", invalid="ignore"):
            return cov / np.outer(err, err)

    def get_subcovariance(self, parameters) -> np.ndarray:
        """Covariance restricted to ``parameters`` (objects or labels), in their order."""
        idx = [self.index(p) for p in parameters]
        return self.covariance[np.ix_(idx, idx)]

    # ---------------------------------------------------------------- output
    def to_table(self):
        """An astropy Table: label, value, unit, error, min, max, frozen, link, prior."""
        from astropy.table import Table

        rows = []
        for name, par in zip(self._names, self._parameters):
            link = ""
            if par.link_info is not None:
                master = par.link_info.master
                label = next(
                    (n for n, p in zip(self._names, self._parameters) if p is master),
                    master.name,
                )
                link = label if par.link_info.is_simple else f"f({label})"
            rows.append(
                (
                    name,
                    par.value,
                    par.unit.to_string(),
                    par.error,
                    par.min,
                    par.max,
                    par.frozen,
                    link,
                    "" if par.prior is None else repr(par.prior),
                )
            )
        names = ("name", "value", "unit", "error", "min", "max", "frozen", "link", "prior")
        dtype = (str, float, str, float, float, float, bool, str, str)
        table = (
            Table(rows=rows, names=names, dtype=dtype) if rows else Table(names=names, dtype=dtype)
        )
        table["value"].format = ".5g"
        table["error"].format = ".3g"
        table["min"].format = ".3g"
        table["max"].format = ".3g"
        return table

    def __str__(self) -> str:
        return "\n".join(self.to_table().pformat(max_lines=-1, max_width=-1))

    def __repr__(self) -> str:
        return f"Parameters({self._names})"

    def _repr_html_(self) -> str:
        return self.to_table()._repr_html_()
