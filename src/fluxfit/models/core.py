"""The base class shared by spectral, spatial and temporal models.

A model class declares its parameters once, as `ParameterSpec` entries giving
the default value, the default unit and the *canonical* unit in which its
``evaluate`` function expects the value. Canonical units follow one internal
system: energies in TeV, differential fluxes in cm-2 s-1 TeV-1, angles in deg,
solid angles in sr, times in days (MJD). Parameter values are converted to it
once per evaluation through a cached factor, so hot loops see plain floats.

Examples
--------
>>> from fluxfit.models import PowerLawSpectralModel
>>> model = PowerLawSpectralModel(index=2.5)
>>> model.index.value
2.5
>>> model.index = 2.7        # sets the value
>>> model.parameters.names
['index', 'amplitude', 'reference']
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, ParameterError, UnitError
from fluxfit.models.parameter import Parameter, Parameters, parse_unit

__all__ = ["ParameterSpec", "ModelBase", "MODEL_REGISTRY", "register_model", "lookup_model"]


@dataclass(frozen=True)
class ParameterSpec:
    """Declaration of one parameter of a model class.

    Parameters
    ----------
    name : str
        Parameter name.
    value : float
        Default value, in ``unit``.
    unit : str
        Default unit of the parameter.
    canonical_unit : str or None
        Unit in which ``evaluate`` expects this parameter; defaults to ``unit``.
    min, max : float
        Default bounds (NaN: none).
    frozen : bool
        Frozen by default.
    is_norm : bool
        Normalisation-like parameter.
    interp : {"lin", "log"}
        Preferred scan spacing.
    transform : {None, "log"}
        Optimiser space (see `Parameter`).
    """

    name: str
    value: float
    unit: str = ""
    canonical_unit: str | None = None
    min: float = np.nan
    max: float = np.nan
    frozen: bool = False
    is_norm: bool = False
    interp: str = "lin"
    transform: str | None = None

    def make(self, value=None) -> Parameter:
        """Create the Parameter, with ``value`` (number, string or Quantity) if given."""
        value = self.value if value is None else value
        unit = self.unit
        if isinstance(value, u.Quantity | str):
            quantity = u.Quantity(value) if isinstance(value, str) else value
            if quantity.unit != u.dimensionless_unscaled or not self.unit:
                unit = quantity.unit
            value = quantity
        low, high = self.min, self.max
        if self.unit and parse_unit(unit) != parse_unit(self.unit):
            # bounds are declared in the default unit: express them in the one given
            try:
                factor = parse_unit(self.unit).to(parse_unit(unit))
            except u.UnitConversionError:
                raise UnitError(
                    f"Parameter {self.name!r}: unit {parse_unit(unit).to_string()!r} is not "
                    f"compatible with {self.unit!r}"
                ) from None
            low, high = low * factor, high * factor
            if factor < 0:  # pragma: no cover - units are positive multiples
                low, high = high, low
        par = Parameter(
            self.name,
            value,
            unit=unit,
            min=low,
            max=high,
            frozen=self.frozen,
            is_norm=self.is_norm,
            interp=self.interp,
            transform=self.transform,
        )
        par.autoscale()
        return par


MODEL_REGISTRY: dict[str, type] = {}
"""Model classes by their primary YAML type name (the first entry of ``tag``)."""

_TAGS: dict[str, list[type]] = {}


def register_model(cls):
    """Class decorator: make a model class known to YAML I/O under its ``tag`` names.

    The first tag (the primary type name, written to YAML) must be unique; short
    aliases (e.g. ``"gauss"``) may be shared by models of different kinds
    (spectral, spatial, temporal) and are resolved by the kind being read.
    """
    primary = cls.tag[0]
    if primary in MODEL_REGISTRY and MODEL_REGISTRY[primary] is not cls:
        raise ModelError(f"model type name {primary!r} is registered twice")
    MODEL_REGISTRY[primary] = cls
    for tag in cls.tag:
        classes = _TAGS.setdefault(tag, [])
        if cls not in classes:
            classes.append(cls)
    return cls


def lookup_model(type_name: str, base: type) -> type | None:
    """The registered subclass of ``base`` known as ``type_name``, or None."""
    for cls in _TAGS.get(type_name, []):
        if issubclass(cls, base):
            return cls
    return None


class ModelBase:
    """Base class of every model with parameters.

    Subclasses set ``tag`` (YAML type names, the first is written) and
    ``_parameter_specs`` (a tuple of `ParameterSpec`). Constructor keywords set
    parameter values; passing a `Parameter` object shares it (an identity link).
    """

    tag: tuple[str, ...] = ()
    _parameter_specs: tuple[ParameterSpec, ...] = ()

    def __init__(self, **kwargs):
        params = {}
        for spec in self._parameter_specs:
            value = kwargs.pop(spec.name, None)
            if isinstance(value, Parameter):
                params[spec.name] = value
            else:
                params[spec.name] = spec.make(value)
        if kwargs:
            known = [s.name for s in self._parameter_specs]
            raise ModelError(
                f"{type(self).__name__}: unknown argument(s) {sorted(kwargs)}; parameters are {known}"
            )
        object.__setattr__(self, "_params", params)
        canonical = {
            s.name: parse_unit(s.canonical_unit if s.canonical_unit is not None else s.unit)
            for s in self._parameter_specs
        }
        object.__setattr__(self, "_canonical", canonical)
        object.__setattr__(self, "_covariance", None)

    # ------------------------------------------------------------ attributes
    def __getattr__(self, name):
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    def __setattr__(self, name, value):
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            if isinstance(value, Parameter):
                params[name] = value
            else:
                params[name].value = value
            return
        object.__setattr__(self, name, value)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__dict__.get("_params", {})))

    @property
    def type(self) -> str:
        """The YAML type name."""
        return self.tag[0] if self.tag else type(self).__name__

    # ------------------------------------------------------------ parameters
    @property
    def parameters(self) -> Parameters:
        """The model's parameters, in declaration order."""
        names = list(self._params)
        return Parameters(
            [self._params[n] for n in names], names, covariance=self._own_covariance()
        )

    @property
    def parameter_names(self) -> list[str]:
        return self.parameters.names

    def _own_covariance(self):
        cov = self._covariance
        if cov is not None and cov.shape == (len(self._params),) * 2:
            return cov
        return None

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of `parameters` (their units); diag(error^2) when never set."""
        return self.parameters.covariance

    @covariance.setter
    def covariance(self, matrix):
        pars = self.parameters
        pars.covariance = matrix
        object.__setattr__(self, "_covariance", pars._covariance)

    def freeze(self) -> None:
        for par in self.parameters:
            par.frozen = True

    def unfreeze(self) -> None:
        """Unfreeze the parameters that are free by default."""
        defaults = {s.name: s.frozen for s in self._parameter_specs}
        for label, par in zip(self.parameters.names, self.parameters):
            par.frozen = defaults.get(label, False)

    def canonical_values(self, overrides=None) -> dict:
        """Parameter values converted to the canonical units ``evaluate`` expects.

        ``overrides`` maps Parameter objects to values (floats or arrays, e.g. of
        shape (k, 1) for a batch of k parameter sets) in the parameters' units.
        """
        out = {}
        for name, par in self._params.items():
            value = par.value_from(overrides)
            factor = par.factor_to(self._canonical[name])
            out[name] = value * factor if factor != 1.0 else value
        return out

    @staticmethod
    def batch_overrides(parameters: Parameters, values) -> dict:
        """Overrides mapping for a batch of values.

        Parameters
        ----------
        parameters : `Parameters`
            The parameters the columns of ``values`` refer to.
        values : array of shape (k, n) or dict
            ``k`` parameter sets for the ``n`` parameters (in their units), or a
            mapping from parameter (object or label) to a length-``k`` array.

        Returns
        -------
        dict
            Parameter -> array of shape (k, 1), broadcasting against energies.
        """
        if isinstance(values, dict):
            return {
                parameters[key] if not isinstance(key, Parameter) else key: np.asarray(
                    val, dtype=float
                ).reshape(-1, 1)
                for key, val in values.items()
            }
        values = np.asarray(values, dtype=float)
        if values.ndim != 2 or values.shape[1] != len(parameters):
            raise ParameterError(
                f"batch values must have shape (k, {len(parameters)}), got {values.shape}"
            )
        return {par: values[:, i : i + 1] for i, par in enumerate(parameters)}

    # ---------------------------------------------------------------- copies
    def copy(self, **kwargs):
        """A deep copy with independent parameters; keywords set parameter values."""
        new = copy.deepcopy(self)
        for name, value in kwargs.items():
            setattr(new, name, value)
        return new

    # ---------------------------------------------------------- serialisation
    def to_dict(self, full_output: bool = False) -> dict:
        """``{"type": ..., "parameters": [...]}`` in the community YAML layout.

        With ``full_output=False`` keys that equal the class defaults (unit,
        min, max, frozen, zero error) are left out, as Gammapy writes them.
        """
        specs = {s.name: s for s in self._parameter_specs}
        params = []
        for name, par in self._params.items():
            data = par.to_dict()
            data["name"] = name
            spec = specs.get(name)
            if par.transform != (spec.transform if spec is not None else None):
                data["transform"] = par.transform
            if not full_output:
                data = _trim_defaults(data, spec)
            params.append(data)
        return {"type": self.type, "parameters": params}

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        """Build the model from its dict form; parameters not given keep defaults."""
        from fluxfit.models.io import parameters_from_list

        where = where or cls.__name__
        model = cls()
        parameters_from_list(model, data.get("parameters", []), where)
        return model

    def __repr__(self) -> str:
        vals = ", ".join(
            f"{n}={p.value:.4g}" for n, p in zip(self.parameters.names, self.parameters)
        )
        return f"{type(self).__name__}({vals})"

    def __str__(self) -> str:
        return f"{type(self).__name__}\n\n{self.parameters}"

    def _repr_html_(self) -> str:
        return f"<b>{type(self).__name__}</b>" + self.parameters._repr_html_()


def _trim_defaults(data: dict, spec: ParameterSpec | None) -> dict:
    """Drop keys equal to the class defaults, as Gammapy writes its YAML."""
    out = {"name": data["name"], "value": data["value"]}
    if data["unit"]:
        out["unit"] = data["unit"]
    if data["error"] != 0:
        out["error"] = data["error"]
    for key in ("min", "max"):
        value = data[key]
        default = getattr(spec, key) if spec is not None else np.nan
        same = (np.isnan(value) and np.isnan(default)) or value == default
        if not same:
            out[key] = value
    if data["frozen"] != (spec.frozen if spec is not None else False):
        out["frozen"] = data["frozen"]
    for key in ("prior", "transform"):
        if key in data:
            out[key] = data[key]
    return out
