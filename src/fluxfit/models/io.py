"""Building models from their serialised (YAML) form.

The layout is the community one written by Gammapy: a component has a
``type`` and a ``parameters`` list of ``{name, value, unit, min, max, frozen,
error}`` entries, keys left out meaning the class default. fluxfit adds
``prior`` (``{type, <hyper-parameters>}``) and ``link`` entries, which Gammapy
ignores.
"""

from __future__ import annotations

import math

import numpy as np

from fluxfit.errors import FluxfitError, ModelError
from fluxfit.errors import short_repr as _short
from fluxfit.models.core import MODEL_REGISTRY, lookup_model
from fluxfit.models.parameter import Parameter
from fluxfit.models.priors import prior_from_dict

__all__ = ["parameters_from_list", "model_from_dict", "model_base_for_kind"]

_PARAMETER_KEYS = {
    "name",
    "value",
    "unit",
    "min",
    "max",
    "frozen",
    "error",
    "prior",
    "link",
    "scale",
    "is_norm",
    "interp",
    "transform",
    "scan_min",
    "scan_max",
    "scan_n_values",
    "scan_n_sigma",
    "scan_values",
}


def model_base_for_kind(kind: str):
    """The base class for a component kind: spectral, spatial or temporal."""
    if kind == "spectral":
        from fluxfit.models.spectral.core import SpectralModel

        return SpectralModel
    if kind == "spatial":
        from fluxfit.models.spatial import SpatialModel

        return SpatialModel
    if kind == "temporal":
        from fluxfit.models.temporal import TemporalModel

        return TemporalModel
    raise ModelError(f"unknown model kind {kind!r}")


def _number(value, key: str, where: str) -> float:
    if isinstance(value, bool) or value is None:
        raise ModelError(f"{where}: {key}={_short(value)} is not a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ModelError(f"{where}: {key}={_short(value)} is not a number") from None
    return out


def parameters_from_list(model, entries, where: str) -> None:
    """Set the parameters of ``model`` from a list of YAML parameter entries.

    Entries are matched by name; a name the model does not have raises. Missing
    keys keep the class default. ``link`` entries are recorded on the parameter
    as ``_pending_link`` and resolved by `fluxfit.models.Models` once all
    components exist.
    """
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ModelError(f"{where}.parameters: expected a list, got {type(entries).__name__}")
    params = model._params
    seen = set()
    for i, entry in enumerate(entries):
        here = f"{where}.parameters[{i}]"
        if not isinstance(entry, dict):
            raise ModelError(f"{here}: expected a mapping, got {_short(entry)}")
        name = entry.get("name")
        if name is None:
            raise ModelError(f"{here}: missing key 'name'")
        if not isinstance(name, str):
            raise ModelError(f"{here}: key 'name' = {_short(name)} is not a parameter name")
        here = f"{where}.parameters[{name}]"
        if name not in params:
            raise ModelError(
                f"{here}: {type(model).__name__} has no parameter {name!r}; it has {list(params)}"
            )
        if name in seen:
            raise ModelError(f"{here}: parameter given twice")
        seen.add(name)
        unknown = set(entry) - _PARAMETER_KEYS
        if unknown:
            raise ModelError(f"{here}: unknown key(s) {sorted(unknown)}")
        par: Parameter = params[name]
        try:
            _apply_entry(par, entry, here)
        except ModelError:
            raise
        except FluxfitError as exc:
            raise ModelError(f"{here}: {exc}") from None


def _apply_entry(par: Parameter, entry: dict, here: str) -> None:
    if "unit" in entry:
        unit = entry["unit"]
        if unit is None:
            unit = ""
        if not isinstance(unit, str):
            raise ModelError(f"{here}: unit={_short(unit)} is not a string")
        from fluxfit.models.parameter import parse_unit

        new_unit = parse_unit(unit, here)
        if new_unit != par.unit:
            # Replace the unit without converting: the file's numbers are in it.
            if not new_unit.is_equivalent(par.unit):
                raise ModelError(
                    f"{here}: unit {unit!r} is not compatible with {par.unit.to_string()!r}"
                )
            par._unit = new_unit
            par._factor_cache = {}
    low = _number(entry.get("min", par.min), "min", here) if "min" in entry else par.min
    high = _number(entry.get("max", par.max), "max", here) if "max" in entry else par.max
    if "value" not in entry:
        raise ModelError(f"{here}: missing key 'value'")
    value = _number(entry["value"], "value", here)
    if not math.isfinite(value):
        raise ModelError(f"{here}: value {value} is not finite")
    if low > high:
        raise ModelError(f"{here}: min={low} exceeds max={high}")
    # a parameter linked to another (scale/offset) holds a derived value, recomputed from its
    # master once the links are resolved: its bounds need not contain it
    derived = isinstance(entry.get("link"), dict)
    if not derived and (value < low or value > high):
        raise ModelError(f"{here}: value {value} is outside [min, max] = [{low}, {high}]")
    par._min, par._max = low, high
    par._value = value
    if "frozen" in entry:
        frozen = entry["frozen"]
        if not isinstance(frozen, bool):
            raise ModelError(f"{here}: frozen={_short(frozen)} must be true or false")
        par.frozen = frozen
    if "error" in entry:
        error = _number(entry["error"], "error", here)
        if error < 0:
            raise ModelError(f"{here}: error {error} is negative")
        par.error = error
    if "prior" in entry and entry["prior"] is not None:
        par.prior = prior_from_dict(entry["prior"], f"{here}.prior")
    if "scale" in entry:
        scale = _number(entry["scale"], "scale", here)
        if scale == 0 or not np.isfinite(scale):
            raise ModelError(f"{here}: scale {scale} must be finite and non-zero")
        par.scale = scale
    else:
        par.autoscale()
    if "interp" in entry:
        if entry["interp"] not in ("lin", "log"):
            raise ModelError(f"{here}: interp={_short(entry['interp'])}; use 'lin' or 'log'")
        par.interp = entry["interp"]
    if "transform" in entry:
        if entry["transform"] not in (None, "log"):
            raise ModelError(f"{here}: transform={_short(entry['transform'])}; use null or 'log'")
        par.transform = entry["transform"]
    if "is_norm" in entry:
        par.is_norm = bool(entry["is_norm"])
    if entry.get("link") is not None:
        link = entry["link"]
        if not isinstance(link, str | dict):
            raise ModelError(
                f"{here}: link must be a label string or a mapping, got {_short(link)}"
            )
        par._pending_link = (link, here)


def model_from_dict(data, kind: str, where: str):
    """Build a spectral, spatial or temporal model from its dict form."""
    if not isinstance(data, dict):
        raise ModelError(f"{where}: expected a mapping, got {type(data).__name__}")
    kind_base = model_base_for_kind(kind)
    type_name = data.get("type")
    if type_name is None:
        raise ModelError(f"{where}: missing key 'type'")
    cls = lookup_model(type_name, kind_base) if isinstance(type_name, str) else None
    if cls is None:
        known = sorted(tag for tag, c in MODEL_REGISTRY.items() if issubclass(c, kind_base))
        raise ModelError(f"{where}: unknown {kind} model type {_short(type_name)}; known: {known}")
    try:
        return cls.from_dict(data, where=f"{where}({type_name})")
    except ModelError:
        raise
    except FluxfitError as exc:
        raise ModelError(f"{where}({type_name}): {exc}") from None
