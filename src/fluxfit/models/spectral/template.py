"""Tabulated spectra: values given at energies, interpolated (log-log by default).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import TemplateSpectralModel
>>> energy = [0.1, 1, 10, 100] * u.TeV
>>> values = [1e-10, 1e-12, 1e-14, 1e-16] * u.Unit("cm-2 s-1 TeV-1")
>>> model = TemplateSpectralModel(energy, values)
>>> model(3.16227766 * u.TeV)
<Quantity 1.e-13 1 / (TeV s cm2)>
"""

from __future__ import annotations

import astropy.units as u
import numpy as np

from fluxfit.errors import ModelError, UnitError
from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spectral.core import DNDE_UNIT, ENERGY_UNIT, SpectralModel

__all__ = ["TemplateSpectralModel"]

_TINY = float(np.finfo(np.float32).tiny)
_DEFAULT_INTERP = {"values_scale": "log", "points_scale": "log", "extrapolate": True}
_SCALES = ("log", "lin", "sqrt")


def _check_interp_kwargs(interp_kwargs, where: str) -> dict:
    """Validate and complete the interpolation options."""
    options = dict(_DEFAULT_INTERP)
    options["fill_value"] = None
    if interp_kwargs is None:
        return options
    if not isinstance(interp_kwargs, dict):
        raise ModelError(f"{where}: interp_kwargs must be a mapping, got {interp_kwargs!r}")
    known = {"values_scale", "points_scale", "extrapolate", "fill_value", "method"}
    unknown = set(interp_kwargs) - known
    if unknown:
        raise ModelError(
            f"{where}: unknown interp_kwargs {sorted(unknown)}; known: {sorted(known)}"
        )
    options.update(interp_kwargs)
    points = options["points_scale"]
    if isinstance(points, list | tuple):
        if len(points) != 1:
            raise ModelError(f"{where}: points_scale={points!r} must have one entry")
        points = points[0]
    options["points_scale"] = points
    if points not in ("log", "lin"):
        raise ModelError(f"{where}: points_scale={points!r}; use 'log' or 'lin'")
    if options["values_scale"] not in _SCALES:
        raise ModelError(f"{where}: values_scale={options['values_scale']!r}; use one of {_SCALES}")
    if options.pop("method", "linear") != "linear":
        raise ModelError(f"{where}: only method='linear' interpolation is supported")
    if not isinstance(options["extrapolate"], bool):
        raise ModelError(f"{where}: extrapolate={options['extrapolate']!r} must be true or false")
    fill = options["fill_value"]
    if fill is not None:
        try:
            options["fill_value"] = float(fill)
        except (TypeError, ValueError):
            raise ModelError(f"{where}: fill_value={fill!r} is not a number") from None
        options["extrapolate"] = False
    elif not options["extrapolate"]:
        options["fill_value"] = 0.0
    return options


@register_model
class TemplateSpectralModel(SpectralModel):
    """A spectrum tabulated at energies, interpolated linearly in log-log by default.

    Parameters
    ----------
    energy : `~astropy.units.Quantity`
        Strictly increasing energies of the table (1-D).
    values : `~astropy.units.Quantity`
        dN/dE at ``energy`` (a unit convertible to cm-2 s-1 TeV-1), or
        dimensionless values: the template is then a norm model (e.g. an
        absorption table) to be multiplied onto a spectrum.
    interp_kwargs : dict, optional
        ``values_scale`` in {"log" (default), "lin", "sqrt"}; ``points_scale`` in
        {"log" (default), "lin"}; ``extrapolate`` (default True: the end segments
        are extended); ``fill_value`` (value outside the table, in the unit of
        ``values``; implies ``extrapolate=False``, which alone means 0 outside).
        Negative interpolated values are clipped to 0, as Gammapy does.
    norm : float or `~fluxfit.models.Parameter`, optional
        If given, the template gets a dimensionless ``norm`` parameter that
        multiplies it. Without it the template has no parameters (as in
        Gammapy >= 1.0); multiply by `PowerLawNormSpectralModel` to scale it.

    Notes
    -----
    Integrals cut the bins at the table energies (the interpolant has kinks
    there), so the default quadrature is exact to rounding for log-log tables.
    The YAML form is Gammapy's: ``energy: {data: [...], unit: ...}`` and
    ``values: {data: [...], unit: ...}``, plus ``interp_kwargs`` when not default.

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import PowerLawNormSpectralModel, TemplateSpectralModel
    >>> template = TemplateSpectralModel(
    ...     energy=[1, 10, 100] * u.GeV, values=[1e-6, 1e-9, 1e-12] * u.Unit("cm-2 s-1 GeV-1"))
    >>> model = template * PowerLawNormSpectralModel(norm=1.5, tilt=0.1)
    >>> flux = model.integral(2 * u.GeV, 50 * u.GeV)
    """

    tag = ("TemplateSpectralModel", "template")
    _parameter_specs = ()
    _norm_spec = ParameterSpec("norm", 1.0, "", is_norm=True, interp="log")

    def __init__(self, energy, values, interp_kwargs=None, norm=None):
        where = type(self).__name__
        if not isinstance(energy, u.Quantity):
            raise UnitError(f"{where}: energy must be a Quantity with an energy unit")
        try:
            energy_tev = energy.to_value(ENERGY_UNIT, equivalencies=u.spectral())
        except u.UnitConversionError:
            raise UnitError(f"{where}: energy unit {energy.unit} is not an energy") from None
        values = u.Quantity(values)
        energy_tev = np.atleast_1d(np.asarray(energy_tev, dtype=float))
        if energy_tev.ndim != 1 or values.shape != energy_tev.shape:
            raise ModelError(
                f"{where}: energy and values must be 1-D of the same length, got shapes "
                f"{energy_tev.shape} and {values.shape}"
            )
        if energy_tev.size == 0:
            raise ModelError(f"{where}: the table is empty")
        if not np.all(np.isfinite(energy_tev)) or np.any(energy_tev <= 0):
            raise ModelError(f"{where}: energies must be finite and positive")
        if np.any(np.diff(energy_tev) <= 0):
            raise ModelError(f"{where}: energies must be strictly increasing")
        if not np.all(np.isfinite(values.value)):
            raise ModelError(f"{where}: values must be finite")
        if values.unit.is_equivalent(u.dimensionless_unscaled):
            output_unit = u.dimensionless_unscaled
        elif values.unit.is_equivalent(DNDE_UNIT):
            output_unit = DNDE_UNIT
        else:
            raise UnitError(
                f"{where}: values unit {values.unit} is neither a differential flux "
                "(cm-2 s-1 TeV-1) nor dimensionless"
            )
        options = _check_interp_kwargs(interp_kwargs, where)
        if options["values_scale"] == "log" and np.any(values.value < 0):
            raise ModelError(f"{where}: values_scale='log' needs non-negative values")
        factor = values.unit.to(output_unit)
        object.__setattr__(self, "energy", energy)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "interp_kwargs", options)
        object.__setattr__(self, "output_unit", output_unit)
        object.__setattr__(self, "_energy_tev", energy_tev)
        object.__setattr__(self, "_points", self._scale_points(energy_tev, options))
        scaled = self._scale_values(values.value, options["values_scale"])
        # The scale is applied in the table's unit (as Gammapy does), then converted.
        object.__setattr__(self, "_scaled", scaled)
        object.__setattr__(self, "_factor", factor)
        fill = options["fill_value"]
        object.__setattr__(self, "_fill", None if fill is None else fill * factor)
        if norm is not None:
            object.__setattr__(self, "_parameter_specs", (self._norm_spec,))
            super().__init__(norm=norm)
        else:
            super().__init__()

    # ---------------------------------------------------------- interpolation
    @staticmethod
    def _scale_points(energy, options):
        return np.log(energy) if options["points_scale"] == "log" else np.asarray(energy)

    @staticmethod
    def _scale_values(values, scale):
        if scale == "log":
            return np.log(np.clip(values, _TINY, None))
        if scale == "sqrt":
            return np.sign(values) * np.sqrt(np.abs(values))
        return np.asarray(values, dtype=float)

    def _interpolate(self, energy):
        """Interpolated table values (output unit) at ``energy`` (TeV, any shape)."""
        options = self.interp_kwargs
        points, scaled = self._points, self._scaled
        coord = np.log(energy) if options["points_scale"] == "log" else np.asarray(energy, float)
        result = np.interp(coord, points, scaled)
        if points.size > 1 and self._fill is None:
            below = coord < points[0]
            if np.any(below):
                slope = (scaled[1] - scaled[0]) / (points[1] - points[0])
                result = np.where(below, scaled[0] + slope * (coord - points[0]), result)
            above = coord > points[-1]
            if np.any(above):
                slope = (scaled[-1] - scaled[-2]) / (points[-1] - points[-2])
                result = np.where(above, scaled[-1] + slope * (coord - points[-1]), result)
        scale = options["values_scale"]
        if scale == "log":
            result = np.exp(result)
        elif scale == "sqrt":
            result = np.clip(result, 0, None) ** 2
        else:
            result = np.clip(result, 0, None)
        result = result * self._factor
        if self._fill is not None:
            outside = (coord < points[0]) | (coord > points[-1])
            result = np.where(outside, self._fill, result)
        return result

    def evaluate(self, energy, norm=1.0):
        """Template values at ``energy`` (TeV) times ``norm`` (when the model has one)."""
        return norm * self._interpolate(energy)

    def _fixed_breaks(self) -> np.ndarray:
        return self._energy_tev

    # --------------------------------------------------------- serialisation
    def to_dict(self, full_output: bool = False) -> dict:
        data = {"type": self.type}
        if self._params:
            data["parameters"] = super().to_dict(full_output)["parameters"]
        data["energy"] = {
            "data": [float(v) for v in np.atleast_1d(self.energy.value)],
            "unit": self.energy.unit.to_string(),
        }
        data["values"] = {
            "data": [float(v) for v in np.atleast_1d(self.values.value)],
            "unit": self.values.unit.to_string(),
        }
        options = {k: v for k, v in self.interp_kwargs.items() if v is not None}
        default = dict(_DEFAULT_INTERP)
        if options != default or full_output:
            data["interp_kwargs"] = options
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        from fluxfit.models.io import parameters_from_list

        where = where or cls.__name__
        arrays = {}
        for key in ("energy", "values"):
            entry = data.get(key)
            if not isinstance(entry, dict) or "data" not in entry:
                raise ModelError(f"{where}: missing {key}: {{data: [...], unit: ...}}")
            try:
                arrays[key] = u.Quantity(entry["data"], entry.get("unit") or "", dtype=float)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"{where}.{key}: cannot read {entry!r} ({exc})") from None
        entries = data.get("parameters") or []
        has_norm = any(isinstance(e, dict) and e.get("name") == "norm" for e in entries)
        model = cls(
            arrays["energy"],
            arrays["values"],
            interp_kwargs=data.get("interp_kwargs"),
            norm=1.0 if has_norm else None,
        )
        parameters_from_list(model, entries, where)
        return model

    def __repr__(self) -> str:
        extra = f", norm={self.norm.value:.4g}" if self._params else ""
        return (
            f"TemplateSpectralModel({self._energy_tev.size} points, "
            f"{self.energy.min():.4g} - {self.energy.max():.4g}{extra})"
        )
