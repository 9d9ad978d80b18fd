"""``fluxfit run analysis.yaml``: the analysis configuration, validated with pydantic v2.

Example (the seed-003 analysis: time-resolved spectroscopy of PKS 2155-304)::

    data:
      dl3:
        path: ../shared/data/gammapy-data/hess-dl3-dr1
        selection: {type: sky_circle, frame: icrs, lon: 329.71693826 deg,
                    lat: -30.2255890 deg, radius: 2 deg}
        time_intervals: {start: "2006-07-29T20:30", duration: 15 min, n_intervals: 24}
    reduction:
      on_region: {frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg, radius: 0.11 deg}
      energy_axis: {min: 0.4 TeV, max: 20 TeV, nbin: 10}
      energy_axis_true: {min: 0.1 TeV, max: 40 TeV, nbin: 20}
      background: reflected
      safe_mask: {methods: [aeff-max], aeff_percent: 10}
    models:
      - {name: pks2155, spectral: {type: PowerLawSpectralModel,
         parameters: {index: 3.0, amplitude: 2e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}}
    estimators:
      time_resolved: {energy_range: [1 TeV, 10 TeV]}
    outputs: {dir: seed003-results}

Data may instead be ``ogip: [files]``, ``datasets: datasets.yaml`` or ``flux_points: [files]``
(several kinds are fitted jointly); models may be inline (as above) or ``models: file.yaml``.
Every key is checked on load: an unknown key or a wrong type raises
`~fluxfit.errors.FormatError` naming the file, the key path and what is allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml

from fluxfit.errors import FormatError

try:
    from pydantic import BaseModel, ConfigDict, Field, ValidationError
except ImportError:  # pragma: no cover - pydantic is in the test/config extras
    BaseModel = None

__all__ = ["AnalysisConfig", "load_config"]

if BaseModel is not None:

    class _Strict(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class SkyCircle(_Strict):
        """A circle on the sky; angles as strings with units ("0.11 deg")."""

        frame: Literal["icrs", "galactic"] = "icrs"
        lon: str
        lat: str
        radius: str

    class Selection(SkyCircle):
        type: Literal["sky_circle"] = "sky_circle"

    class TimeIntervals(_Strict):
        start: str
        duration: str
        n_intervals: int = Field(gt=0)

    class DL3Config(_Strict):
        path: str
        selection: Selection | None = None
        obs_ids: list[int] | None = None
        time_intervals: TimeIntervals | None = None

    class DataConfig(_Strict):
        ogip: list[str] = []
        datasets: str | None = None
        flux_points: list[str] = []
        dl3: DL3Config | None = None

    class EnergyAxisConfig(_Strict):
        min: str
        max: str
        nbin: int = Field(gt=0)

    class SafeMaskConfig(_Strict):
        methods: list[Literal["aeff-max", "aeff-default", "edisp-bias", "offset-max"]] = [
            "aeff-max"
        ]
        aeff_percent: float = 10.0

    class ReductionConfig(_Strict):
        on_region: SkyCircle
        energy_axis: EnergyAxisConfig
        energy_axis_true: EnergyAxisConfig
        background: Literal["reflected"] = "reflected"
        containment_correction: bool = True
        safe_mask: SafeMaskConfig = SafeMaskConfig()

    class ComponentConfig(_Strict):
        type: str
        parameters: dict[str, float | str] = {}
        frozen: list[str] = []

    class ModelConfig(_Strict):
        name: str
        spectral: ComponentConfig
        datasets_names: list[str] | None = None

    class FitConfig(_Strict):
        method: Literal["mle", "bayes"] = "mle"
        sampler: Literal["emcee", "ultranest"] = "emcee"
        sampler_options: dict[str, Any] = {}
        seed: int | None = 0

    class FluxPointsConfig(_Strict):
        energy_edges: list[str]
        source: str | None = None

    class LightCurveConfig(_Strict):
        energy_range: list[str]
        source: str | None = None

    class TimeResolvedConfig(_Strict):
        energy_range: list[str] = ["1 TeV", "10 TeV"]

    class EstimatorsConfig(_Strict):
        flux_points: FluxPointsConfig | None = None
        lightcurve: LightCurveConfig | None = None
        time_resolved: TimeResolvedConfig | None = None

    class OutputsConfig(_Strict):
        dir: str = "fluxfit-results"
        report: bool = True
        overwrite: bool = False

    class AnalysisConfig(_Strict):
        """The whole configuration file."""

        title: str = "fluxfit analysis"
        data: DataConfig
        reduction: ReductionConfig | None = None
        models: str | list[ModelConfig]
        fit: FitConfig = FitConfig()
        estimators: EstimatorsConfig = EstimatorsConfig()
        outputs: OutputsConfig = OutputsConfig()


def _explain(exc, filename) -> str:
    lines = [f"{filename}: invalid analysis configuration ({exc.error_count()} problem(s))"]
    for error in exc.errors():
        path = ".".join(str(p) for p in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            parent = _model_at(error["loc"][:-1])
            if parent is not None:
                message += f"; allowed keys: {', '.join(parent.model_fields)}"
        lines.append(f"  {path}: {message} (got {error.get('input')!r})")
    return "\n".join(lines)


def _model_at(loc):
    """The pydantic model class at a key path (for the list of allowed keys)."""
    model = AnalysisConfig
    for key in loc:
        if isinstance(key, int):
            continue
        field = model.model_fields.get(key)
        if field is None:
            return None
        found = None
        for candidate in _classes(field.annotation):
            found = candidate
            break
        if found is None:
            return None
        model = found
    return model


def _classes(annotation):
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _classes(arg)


def load_config(filename) -> AnalysisConfig:
    """Read and validate an analysis YAML; relative paths are taken from its folder."""
    if BaseModel is None:  # pragma: no cover
        raise FormatError("fluxfit run needs pydantic >= 2 (pip install 'pydantic>=2')")
    filename = Path(filename)
    try:
        data = yaml.safe_load(filename.read_text())
    except OSError as exc:
        raise FormatError(f"{filename}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise FormatError(f"{filename}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{filename}: expected a mapping at the top level")
    try:
        return AnalysisConfig.model_validate(data)
    except ValidationError as exc:
        raise FormatError(_explain(exc, filename)) from None
