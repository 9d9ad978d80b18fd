"""Sky models (spectral x spatial x temporal), background models and model lists.

Examples
--------
>>> import numpy as np, astropy.units as u
>>> from fluxfit.models import (BlackbodySpectralModel, PowerLawFluxSpectralModel,
...     LogNormalPrior, SkyModel, Models)
>>> bb1 = BlackbodySpectralModel()
>>> bb2 = BlackbodySpectralModel(kT=bb1.kT)          # the same temperature object
>>> src1 = SkyModel(bb1, name="src1", datasets_names=["s1"])
>>> src2 = SkyModel(bb2 + PowerLawFluxSpectralModel(a=10 * u.keV, b=500 * u.keV),
...                 name="src2", datasets_names=["s2"])
>>> models = Models([src1, src2])
>>> len(models.parameters.free_parameters)
5
"""

from __future__ import annotations

import itertools

from fluxfit.errors import ModelError, short_repr
from fluxfit.models.core import MODEL_REGISTRY, ModelBase
from fluxfit.models.parameter import Parameters

__all__ = ["SkyModel", "FoVBackgroundModel"]

_COMPONENTS = ("spectral", "spatial", "temporal")
_auto_names = itertools.count(1)


def _check_names(datasets_names, where):
    if datasets_names is None:
        return None
    if isinstance(datasets_names, str):
        return [datasets_names]
    try:
        names = list(datasets_names)
    except TypeError:
        raise ModelError(
            f"{where}: datasets_names must be a list of names, got {short_repr(datasets_names)}"
        ) from None
    for name in names:
        if not isinstance(name, str):
            raise ModelError(
                f"{where}: datasets_names entries must be strings, got {short_repr(name)}"
            )
    return names


class _ComponentModel:
    """Shared behaviour of models made of spectral/spatial/temporal parts."""

    _kinds: tuple[str, ...] = _COMPONENTS
    type = "SkyModel"

    def _component(self, kind):
        return getattr(self, f"{kind}_model")

    @property
    def parameters(self) -> Parameters:
        """Parameters of all components, labelled ``<kind>.<name>``."""
        params, names = [], []
        for kind in self._kinds:
            model = self._component(kind)
            if model is None:
                continue
            sub = model.parameters
            params.extend(sub)
            names.extend(f"{kind}.{n}" for n in sub.names)
        return Parameters(params, names)

    def freeze(self, model_type: str | None = None) -> None:
        """Freeze all parameters, or those of one component ("spectral"...)."""
        for kind in self._kinds if model_type is None else (model_type,):
            model = self._component(kind)
            if model is not None:
                model.freeze()

    def unfreeze(self, model_type: str | None = None) -> None:
        """Restore the default frozen state of all (or one component's) parameters."""
        for kind in self._kinds if model_type is None else (model_type,):
            model = self._component(kind)
            if model is not None:
                model.unfreeze()

    @property
    def frozen(self) -> bool:
        return all(p.frozen or p.is_linked for p in self.parameters)

    def __str__(self) -> str:
        lines = [f"{type(self).__name__}", "", f"  Name                      : {self.name}"]
        lines.append(f"  Datasets names            : {self.datasets_names}")
        for kind in self._kinds:
            model = self._component(kind)
            lines.append(
                f"  {kind.capitalize() + ' model type':<26}: {'' if model is None else model.type}"
            )
        lines += ["  Parameters:", ""]
        lines += ["    " + row for row in str(self.parameters).splitlines()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return f"<b>{type(self).__name__}: {self.name}</b>" + self.parameters._repr_html_()


class SkyModel(_ComponentModel):
    """A source: spectral model times optional spatial and temporal models.

    Parameters
    ----------
    spectral_model : `~fluxfit.models.SpectralModel`
        Photon spectrum.
    spatial_model : `~fluxfit.models.SpatialModel`, optional
        Morphology; None for a source without position (1-D spectra).
    temporal_model : `~fluxfit.models.TemporalModel`, optional
        Time dependence of the normalisation.
    name : str, optional
        Unique name (default ``"model-<n>"``).
    datasets_names : list of str, optional
        Datasets this source contributes to; None means all datasets.
    """

    def __init__(
        self,
        spectral_model,
        spatial_model=None,
        temporal_model=None,
        name: str | None = None,
        datasets_names=None,
    ):
        from fluxfit.models.io import model_base_for_kind

        for kind, model in zip(_COMPONENTS, (spectral_model, spatial_model, temporal_model)):
            if model is None:
                if kind == "spectral":
                    raise ModelError("SkyModel: a spectral model is required")
                continue
            base = model_base_for_kind(kind)
            if not isinstance(model, base):
                raise ModelError(
                    f"SkyModel: {kind}_model must be a {base.__name__}, got {type(model).__name__}"
                )
        self.spectral_model = spectral_model
        self.spatial_model = spatial_model
        self.temporal_model = temporal_model
        if name is None:
            name = f"model-{next(_auto_names)}"
        if not isinstance(name, str) or not name:
            raise ModelError(f"SkyModel: name must be a non-empty string, got {short_repr(name)}")
        self.name = name
        self.datasets_names = _check_names(datasets_names, f"SkyModel {name!r}")

    @property
    def position(self):
        """Sky position (SkyCoord) of the spatial model, or None."""
        return None if self.spatial_model is None else getattr(self.spatial_model, "position", None)

    def copy(self, name: str | None = None, **kwargs) -> SkyModel:
        """Deep copy with independent parameters; ``name`` defaults to a new one."""
        import copy

        new = copy.deepcopy(self)
        new.name = name if name is not None else f"{self.name}-copy"
        for key, value in kwargs.items():
            setattr(new, key, value)
        return new

    def to_dict(self, full_output: bool = False) -> dict:
        data = {"name": self.name, "type": "SkyModel"}
        if self.datasets_names is not None:
            data["datasets_names"] = list(self.datasets_names)
        for kind in _COMPONENTS:
            model = self._component(kind)
            if model is not None:
                data[kind] = model.to_dict(full_output)
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "SkyModel") -> SkyModel:
        from fluxfit.models.io import model_from_dict

        unknown = set(data) - {"name", "type", "datasets_names", *_COMPONENTS}
        if unknown:
            raise ModelError(f"{where}: unknown key(s) {sorted(unknown)}")
        if data.get("spectral") is None:
            raise ModelError(f"{where}: missing key 'spectral' (or null)")
        parts = {
            kind: model_from_dict(data[kind], kind, f"{where}.{kind}")
            for kind in _COMPONENTS
            if data.get(kind) is not None
        }
        return cls(
            spectral_model=parts["spectral"],
            spatial_model=parts.get("spatial"),
            temporal_model=parts.get("temporal"),
            name=data.get("name"),
            datasets_names=data.get("datasets_names"),
        )

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{kind}={self._component(kind).type}"
            for kind in _COMPONENTS
            if self._component(kind) is not None
        )
        return f"SkyModel(name={self.name!r}, {parts})"


class FoVBackgroundModel(_ComponentModel):
    """Field-of-view background model: a spectral norm applied to a dataset's background.

    Parameters
    ----------
    dataset_name : str
        The one dataset whose background it scales.
    spectral_model : `~fluxfit.models.SpectralModel`, optional
        A norm model (dimensionless), default ``PowerLawNormSpectralModel``
        (norm, tilt, reference = 1 TeV).
    name : str, optional
        Default ``"<dataset_name>-bkg"``.
    """

    _kinds = ("spectral",)
    type = "FoVBackgroundModel"

    def __init__(self, dataset_name: str, spectral_model=None, name: str | None = None):
        if not isinstance(dataset_name, str) or not dataset_name:
            raise ModelError(
                f"FoVBackgroundModel: dataset_name must be a string, got {short_repr(dataset_name)}"
            )
        if spectral_model is None:
            spectral_model = MODEL_REGISTRY["PowerLawNormSpectralModel"]()
        if not isinstance(spectral_model, ModelBase):
            raise ModelError(f"FoVBackgroundModel: {spectral_model!r} is not a spectral model")
        self.spectral_model = spectral_model
        self.spatial_model = None
        self.temporal_model = None
        self.name = name or f"{dataset_name}-bkg"
        self.datasets_names = [dataset_name]

    @property
    def dataset_name(self) -> str:
        return self.datasets_names[0]

    def to_dict(self, full_output: bool = False) -> dict:
        data = {"type": self.type, "datasets_names": list(self.datasets_names)}
        if self.name != f"{self.dataset_name}-bkg":
            data = {"name": self.name, **data}
        data["spectral"] = self.spectral_model.to_dict(full_output)
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "FoVBackgroundModel") -> FoVBackgroundModel:
        from fluxfit.models.io import model_from_dict

        unknown = set(data) - {"name", "type", "datasets_names", "spectral", "filename"}
        if unknown:
            raise ModelError(f"{where}: unknown key(s) {sorted(unknown)}")
        names = _check_names(data.get("datasets_names"), where)
        if not names or len(names) != 1:
            raise ModelError(
                f"{where}: datasets_names must name exactly one dataset, got {short_repr(names)}"
            )
        spectral = None
        if data.get("spectral") is not None:
            spectral = model_from_dict(data["spectral"], "spectral", f"{where}.spectral")
        return cls(names[0], spectral_model=spectral, name=data.get("name"))

    def copy(self, name: str | None = None) -> FoVBackgroundModel:
        import copy

        new = copy.deepcopy(self)
        if name is not None:
            new.name = name
        return new

    def __repr__(self) -> str:
        return f"FoVBackgroundModel(dataset_name={self.dataset_name!r})"


COMPONENT_TYPES = {
    "SkyModel": SkyModel,
    "FoVBackgroundModel": FoVBackgroundModel,
    # Older Gammapy files call the field-of-view background model "BackgroundModel".
    "BackgroundModel": FoVBackgroundModel,
}
