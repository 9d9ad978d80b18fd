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

A flux profile (seed 001) needs map datasets and no models::

    data: {datasets: fermi-gc-datasets.yaml}
    estimators:
      profile:
        regions: {kind: rectangles, start_pos: 10 0 galactic, end_pos: 350 0 galactic,
                  height: 3 deg, n: 51}
        spectrum: {type: PowerLawSpectralModel, parameters: {index: 2.3}}
        energy_edges: [10 GeV, 2000 GeV]
        selection_optional: [ul]

Data may instead be ``ogip: [files]``, ``datasets: datasets.yaml`` or ``flux_points: [files]``
(several kinds are fitted jointly); models may be inline (as above) or ``models: file.yaml``.
Every key is checked on load: an unknown key or a wrong type raises
`~fluxfit.errors.FormatError` naming the file, the key path and what is allowed.

Every key with its type, default and allowed values is listed in ``docs/configuration.md``,
generated from these models by ``docs/make_config_reference.py`` (run it after changing a
model; ``tests/cli/test_config_reference.py`` fails until then, and asks for a description of
every new key).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from fluxfit.errors import FormatError, short_repr

try:
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        ValidationError,
        field_validator,
        model_validator,
    )
except ImportError:  # pragma: no cover - pydantic is in the test/config extras
    BaseModel = None

__all__ = ["AnalysisConfig", "load_config"]

if BaseModel is not None:
    _Scalar = bool | int | float | str | None

    class _Strict(BaseModel):
        # NaN and +-inf are refused wherever a number is expected
        model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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
        aeff_percent: float = Field(default=10.0, gt=0, le=100)

    class ReductionConfig(_Strict):
        on_region: SkyCircle
        energy_axis: EnergyAxisConfig
        energy_axis_true: EnergyAxisConfig
        background: Literal["reflected"] = "reflected"
        containment_correction: bool = True
        safe_mask: SafeMaskConfig = SafeMaskConfig()

    class PriorConfig(_Strict):
        """A prior of one parameter: its type and hyper-parameters (in the parameter's unit)."""

        type: Literal[
            "UniformPrior",
            "LogUniformPrior",
            "GaussianPrior",
            "LogNormalPrior",
            "TruncatedGaussianPrior",
        ]
        min: float | None = None
        max: float | None = None
        mu: float | None = None
        sigma: float | None = None
        lower: float | None = None
        upper: float | None = None

    class ComponentConfig(_Strict):
        type: str
        parameters: dict[str, float | str] = {}
        frozen: list[str] = []
        priors: dict[str, PriorConfig] = {}

    class ModelConfig(_Strict):
        name: str
        spectral: ComponentConfig
        datasets_names: list[str] | None = None

    class FitConfig(_Strict):
        method: Literal["mle", "bayes"] = "mle"
        sampler: Literal["emcee", "ultranest"] = "emcee"
        # scalars (or lists of them): a YAML alias bomb cannot hide here and reach fit.json
        sampler_options: dict[str, _Scalar | list[_Scalar]] = {}
        seed: int | None = 0

    OptionalStep = Literal["all", "errn-errp", "ul", "scan"]

    class _EstimatorOptions(_Strict):
        source: str | None = None
        n_sigma: float = Field(1.0, gt=0)
        n_sigma_ul: float = Field(2.0, gt=0)
        selection_optional: list[OptionalStep] | None = None
        reoptimize: bool = False
        n_jobs: int | None = None

    class FluxPointsConfig(_EstimatorOptions):
        energy_edges: list[str] = Field(min_length=2)

    class LightCurveConfig(_EstimatorOptions):
        energy_range: list[str] = Field(min_length=2)

    class TimeResolvedConfig(_Strict):
        energy_range: list[str] = ["1 TeV", "10 TeV"]

    class SkyPositionConfig(_Strict):
        """A position on the sky; ``lon``/``lat`` are angles ("10 deg", "10d") or degrees."""

        lon: float | str
        lat: float | str
        frame: Literal["icrs", "galactic"]

        @field_validator("lon", "lat")
        @classmethod
        def _angle(cls, value, info):
            value = _check_angle(value)
            if info.field_name == "lat" and abs(_angle(value).deg) > 90:
                raise ValueError(f"a latitude is between -90 and 90 deg, got {value!r}")
            return value

        def to_skycoord(self):
            from astropy.coordinates import SkyCoord

            return SkyCoord(_angle(self.lon), _angle(self.lat), frame=self.frame)

    #: Keys of ``estimators.profile.regions`` by kind: (required, optional).
    REGION_KEYS = {
        "rectangles": (("start_pos", "end_pos", "height"), ("n", "width")),
        "annuli": (("center", "radius_max"), ("radius_min", "n", "width")),
    }

    class ProfileRegionsConfig(_Strict):
        """The regions of a flux profile: rectangles along a line, or concentric annuli."""

        kind: Literal["rectangles", "annuli"]
        start_pos: str | SkyPositionConfig | None = None
        end_pos: str | SkyPositionConfig | None = None
        height: float | str | None = None
        center: str | SkyPositionConfig | None = None
        radius_max: float | str | None = None
        radius_min: float | str | None = None
        n: int | None = Field(None, ge=2)
        width: float | str | None = None

        @field_validator("start_pos", "end_pos", "center")
        @classmethod
        def _position(cls, value):
            return _parse_position(value) if isinstance(value, str) else value

        @field_validator("height", "radius_max", "radius_min", "width")
        @classmethod
        def _angles(cls, value):
            if value is None:
                return value
            angle = _check_angle(value)
            if _angle(angle).deg <= 0:
                raise ValueError(f"expected a positive angle, got {value!r}")
            return angle

        @model_validator(mode="after")
        def _keys_of_kind(self):
            required, optional = REGION_KEYS[self.kind]
            given = {k for k in self.model_fields_set if k != "kind"}
            given |= {k for k in required + optional if getattr(self, k) is not None}
            missing = [k for k in required if getattr(self, k) is None]
            foreign = sorted(given - set(required) - set(optional))
            problems = []
            if missing:
                problems.append(f"missing key(s) {', '.join(missing)}")
            if foreign:
                problems.append(f"key(s) {', '.join(foreign)} not used by this kind")
            if (self.n is None) == (self.width is None):
                problems.append("give exactly one of n (number of regions) and width")
            if problems:
                keys = ", ".join(required) + "; and n or width"
                if optional[0] == "radius_min":
                    keys += "; optional radius_min"
                raise ValueError(
                    f"kind {self.kind!r}: {'; '.join(problems)} (keys of {self.kind!r}: {keys})"
                )
            return self

    class SpectrumConfig(_Strict):
        type: str = "PowerLawSpectralModel"
        parameters: dict[str, float | str] = {}

    class ProfileConfig(_Strict):
        regions: ProfileRegionsConfig
        spectrum: SpectrumConfig = SpectrumConfig()
        energy_edges: list[str] | None = Field(None, min_length=2)
        selection_optional: list[OptionalStep] | None = None
        n_sigma: float = Field(1.0, gt=0)
        n_sigma_ul: float = Field(2.0, gt=0)
        sum_over_energy_groups: bool = False
        norm_values: list[float] | None = Field(None, min_length=2)
        sed_type: Literal["dnde", "e2dnde", "flux", "eflux", "likelihood"] = "dnde"

    class EstimatorsConfig(_Strict):
        flux_points: FluxPointsConfig | None = None
        lightcurve: LightCurveConfig | None = None
        time_resolved: TimeResolvedConfig | None = None
        profile: ProfileConfig | None = None

    class OutputsConfig(_Strict):
        dir: str = "fluxfit-results"
        report: bool = True
        overwrite: bool = False

    class AnalysisConfig(_Strict):
        """The whole configuration file."""

        title: str = "fluxfit analysis"
        data: DataConfig
        reduction: ReductionConfig | None = None
        models: str | list[ModelConfig] | None = None
        fit: FitConfig = FitConfig()
        estimators: EstimatorsConfig = EstimatorsConfig()
        outputs: OutputsConfig = OutputsConfig()


_FRAMES = ("icrs", "galactic")


def _check_angle(value):
    """An angle: a number (degrees) or a string astropy reads as an angle ("3 deg", "10d");
    returned as given (read with `_angle`)."""
    from astropy.coordinates import Angle

    if isinstance(value, bool):
        raise ValueError(f"expected an angle, got {value!r}")
    try:
        number = float(value)  # "1e-5": a number of degrees (astropy reads no exponent)
    except (TypeError, ValueError):
        number = value
    try:
        angle = Angle(number, unit="deg")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"expected an angle such as '3 deg' or '10d', got {value!r} ({exc})"
        ) from None
    if angle.ndim != 0 or not bool(np.isfinite(angle.deg)):
        raise ValueError(f"expected one finite angle, got {value!r}")
    return value


def _angle(value):
    """The `~astropy.coordinates.Angle` of a checked angle (numbers are degrees)."""
    from astropy.coordinates import Angle

    try:
        value = float(value)
    except (TypeError, ValueError):
        pass
    return Angle(value, unit="deg")


def _parse_position(text: str):
    """``"lon lat frame"`` ("10 0 galactic", "83.63 deg 22.01 deg icrs") as a position."""
    hint = "expected 'lon lat frame', e.g. '10 0 galactic' or '83.63 deg 22.01 deg icrs'"
    tokens = text.split()
    if len(tokens) not in (3, 5):
        raise ValueError(f"{hint}, or a mapping {{lon, lat, frame}}; got {text!r}")
    frame = tokens[-1]
    if frame not in _FRAMES:
        raise ValueError(f"{hint}; frame {frame!r} is not one of {', '.join(_FRAMES)}")
    if len(tokens) == 3:
        lon, lat = tokens[:2]
    else:
        lon, lat = " ".join(tokens[:2]), " ".join(tokens[2:4])
    return SkyPositionConfig(lon=_check_angle(lon), lat=_check_angle(lat), frame=frame)


#: Problems listed in one error message (the count says how many there were).
_MAX_PROBLEMS = 20


def _explain(exc, filename) -> str:
    lines = [f"{filename}: invalid analysis configuration ({exc.error_count()} problem(s))"]
    errors = exc.errors()
    for error in errors[:_MAX_PROBLEMS]:
        loc, tags = _key_path(error["loc"])
        path = ".".join(str(p) for p in loc) or "(top level)"
        if tags:  # which alternative of a union failed ("models" may be a str or a list)
            path += f" (as {tags[-1]})"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            parent = _model_at(loc[:-1])
            if parent is not None:
                message += f"; allowed keys: {', '.join(parent.model_fields)}"
        # short_repr: a YAML alias "bomb" has millions of shared elements
        lines.append(f"  {path}: {message} (got {short_repr(error.get('input'))})")
    if len(errors) > _MAX_PROBLEMS:
        lines.append(f"  ... and {len(errors) - _MAX_PROBLEMS} more")
    return "\n".join(lines)


#: How pydantic names the alternatives of a union in an error location ("list[ModelConfig]").
_UNION_TAG = re.compile(
    r"^(str|int|float|bool|none|list\[.*\]|dict\[.*\]|literal\[.*\]|function-\w+\[.*\]"
    r"|[A-Z]\w*Config)$"
)


def _key_path(loc) -> tuple[list, list]:
    """The key path of an error location without pydantic's union tags, and the tags."""
    keys, tags = [], []
    for key in loc:
        (tags if isinstance(key, str) and _UNION_TAG.match(key) else keys).append(key)
    return keys, tags


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


#: Deepest flow nesting (``[`` / ``{``) accepted: PyYAML's scanner slows down quadratically
#: with it (5000 levels take seconds), and a configuration needs fewer than 10.
_MAX_FLOW_DEPTH = 100


def _check_nesting(text: str, filename) -> None:
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    if deepest > _MAX_FLOW_DEPTH:
        raise FormatError(
            f"{filename}: brackets nested {deepest} levels deep (at most {_MAX_FLOW_DEPTH} "
            "accepted); not an analysis configuration"
        )


def load_config(filename) -> AnalysisConfig:
    """Read and validate an analysis YAML; relative paths are taken from its folder."""
    if BaseModel is None:  # pragma: no cover
        raise FormatError("fluxfit run needs pydantic >= 2 (pip install 'pydantic>=2')")
    filename = Path(filename)
    try:
        text = filename.read_text()
        _check_nesting(text, filename)
        data = yaml.safe_load(text)
    except OSError as exc:
        raise FormatError(f"{filename}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"{filename}: not a UTF-8 text file ({exc})") from None
    except yaml.YAMLError as exc:
        raise FormatError(f"{filename}: not valid YAML ({exc})") from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:  # "!!float abc", "!!bool x"
        raise FormatError(f"{filename}: a tagged YAML value cannot be built ({exc})") from None
    except RecursionError:
        raise FormatError(f"{filename}: YAML nested too deeply to be a configuration") from None
    if not isinstance(data, dict):
        raise FormatError(f"{filename}: expected a mapping at the top level")
    try:
        return AnalysisConfig.model_validate(data)
    except ValidationError as exc:
        raise FormatError(_explain(exc, filename)) from None
