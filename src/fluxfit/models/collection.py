"""`Models`: an ordered list of sky and background models, with YAML I/O.

The YAML layout is the community one (Gammapy): ``components:`` holding
``SkyModel`` / ``FoVBackgroundModel`` entries, an optional ``covariance:`` file
name (an ASCII table beside the YAML) and ``metadata``. fluxfit adds per
parameter ``prior`` and ``link`` entries, so priors and links survive a round
trip.

Examples
--------
>>> from fluxfit.models import Models, PowerLawSpectralModel, SkyModel
>>> models = Models([SkyModel(PowerLawSpectralModel(), name="crab")])
>>> text = models.to_yaml()
>>> Models.from_yaml(text).names
['crab']
"""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import numpy as np
import yaml

from fluxfit._files import check_output
from fluxfit.errors import (
    FluxfitError,
    FormatError,
    MissingFileError,
    ModelError,
    PathSafetyError,
)
from fluxfit.errors import short_repr as _short
from fluxfit.models._template_files import reading_models_file
from fluxfit.models.parameter import Parameter, Parameters
from fluxfit.models.sky import COMPONENT_TYPES, FoVBackgroundModel, SkyModel

__all__ = ["Models", "read_covariance_table", "write_covariance_table"]


class Models:
    """An ordered collection of uniquely named sky and background models.

    Parameters
    ----------
    models : iterable of `SkyModel` / `FoVBackgroundModel`, or a single one
        The components.
    covariance : array, optional
        Covariance matrix of `parameters`.

    Notes
    -----
    Parameters are labelled ``<model name>.<kind>.<parameter name>``, e.g.
    ``src2.spectral.kT_1``; a unique tail such as ``"kT_1"`` also finds them.
    """

    def __init__(self, models=(), covariance=None):
        if isinstance(models, Models):
            models = list(models)
        elif isinstance(models, SkyModel | FoVBackgroundModel):
            models = [models]
        self._models: list = []
        for model in models:
            self.append(model)
        self._covariance = None
        if covariance is not None:
            self.covariance = covariance

    # -------------------------------------------------------------- container
    def append(self, model) -> None:
        if not isinstance(model, SkyModel | FoVBackgroundModel):
            raise ModelError(f"Models holds SkyModel/FoVBackgroundModel objects, got {model!r}")
        if model.name in self.names:
            raise ModelError(f"Models: a model named {model.name!r} is already present")
        self._models.append(model)

    def extend(self, models) -> None:
        for model in models:
            self.append(model)

    def insert(self, index: int, model) -> None:
        self.append(model)
        self._models.insert(index, self._models.pop())

    def remove(self, model) -> None:
        self._models.remove(self[model] if isinstance(model, str) else model)

    def __len__(self) -> int:
        return len(self._models)

    def __iter__(self):
        return iter(self._models)

    def __add__(self, other) -> Models:
        other = other if isinstance(other, Models) else Models(other)
        return Models(list(self) + list(other))

    def __contains__(self, item) -> bool:
        return item in self._models or item in self.names

    @property
    def names(self) -> list[str]:
        return [m.name for m in self._models]

    def index(self, key) -> int:
        if isinstance(key, int):
            return key
        if isinstance(key, str):
            if key not in self.names:
                raise ModelError(f"Models: no model named {key!r}; names are {self.names}")
            return self.names.index(key)
        for i, model in enumerate(self._models):
            if model is key:
                return i
        raise ModelError(f"Models: {key!r} is not in this list")

    def __getitem__(self, key):
        if isinstance(key, slice):
            return Models(self._models[key])
        if isinstance(key, list | tuple):
            return Models([self._models[self.index(k)] for k in key])
        return self._models[self.index(key)]

    def select(self, name_substring=None, datasets_names=None, tag=None, frozen=None) -> Models:
        """Models whose name contains ``name_substring``, that apply to one of
        ``datasets_names``, whose spectral/spatial type contains ``tag``, or whose
        parameters are all frozen (``frozen=True``) / not all frozen (False)."""
        if isinstance(datasets_names, str):
            datasets_names = [datasets_names]
        out = []
        for model in self._models:
            if name_substring is not None and name_substring not in model.name:
                continue
            if datasets_names is not None and model.datasets_names is not None:
                if not set(datasets_names) & set(model.datasets_names):
                    continue
            if tag is not None:
                types = [
                    getattr(model, f"{k}_model").type
                    for k in ("spectral", "spatial", "temporal")
                    if getattr(model, f"{k}_model", None) is not None
                ]
                if not any(tag in t for t in types):
                    continue
            if frozen is not None and model.frozen != frozen:
                continue
            out.append(model)
        return Models(out)

    def for_dataset(self, dataset_name: str) -> Models:
        """The models a dataset sees: those naming it, and those naming none."""
        return Models(
            [
                m
                for m in self._models
                if m.datasets_names is None or dataset_name in m.datasets_names
            ]
        )

    # ------------------------------------------------------------- parameters
    @property
    def parameters(self) -> Parameters:
        """Parameters of all models, labelled ``<model>.<kind>.<name>`` (unique objects)."""
        params, names = [], []
        for model in self._models:
            sub = model.parameters
            params.extend(sub)
            names.extend(f"{model.name}.{n}" for n in sub.names)
        pars = Parameters(params, names)
        if self._covariance is not None and self._covariance.shape == (len(pars),) * 2:
            pars._covariance = self._covariance
        return pars

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of `parameters`; from the models' own covariances if never set."""
        pars = self.parameters
        if pars._covariance is not None:
            return pars._covariance
        cov = np.diag(pars.error**2)
        for model in self._models:
            for kind in ("spectral", "spatial", "temporal"):
                comp = getattr(model, f"{kind}_model", None)
                own = None if comp is None else comp._own_covariance()
                if own is None:
                    continue
                idx = [pars.index(p) for p in comp.parameters]
                cov[np.ix_(idx, idx)] = own
        return cov

    @covariance.setter
    def covariance(self, matrix):
        pars = self.parameters
        pars.covariance = matrix
        self._covariance = pars._covariance
        for model in self._models:
            for kind in ("spectral", "spatial", "temporal"):
                comp = getattr(model, f"{kind}_model", None)
                if comp is None:
                    continue
                idx = [pars.index(p) for p in comp.parameters]
                object.__setattr__(comp, "_covariance", self._covariance[np.ix_(idx, idx)])

    def freeze(self, model_type: str | None = None) -> None:
        for model in self._models:
            model.freeze(model_type) if isinstance(model, SkyModel) else model.freeze()

    def unfreeze(self, model_type: str | None = None) -> None:
        for model in self._models:
            model.unfreeze(model_type) if isinstance(model, SkyModel) else model.unfreeze()

    def copy(self) -> Models:
        """Deep copy; shared parameters stay shared within the copy."""
        import copy

        return copy.deepcopy(self)

    # ------------------------------------------------------------------ tables
    def to_parameters_table(self):
        """Table of all parameters with the model name and component kind."""
        table = self.parameters.to_table()
        labels = list(table["name"])
        table["model"] = [label.split(".")[0] for label in labels]
        table["type"] = [label.split(".")[-2] for label in labels]
        table["name"] = [label.split(".")[-1] for label in labels]
        table = table[["model", "type", *[c for c in table.colnames if c not in ("model", "type")]]]
        return table

    def __str__(self) -> str:
        header = f"Models ({len(self)} components)"
        lines = [header, ""]
        for model in self._models:
            lines.append(f"Component {self.index(model)}: {model!r}")
        lines += ["", *self.to_parameters_table().pformat(max_lines=-1, max_width=-1)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Models({self.names})"

    def _repr_html_(self) -> str:
        return f"<b>Models</b> ({len(self)} components)" + self.to_parameters_table()._repr_html_()

    # ---------------------------------------------------------- serialisation
    def to_dict(self, full_output: bool = False) -> dict:
        """The community dict layout, with links and priors as extra keys."""
        components = [m.to_dict(full_output) for m in self._models]
        _annotate_links(self, components)
        return {"components": components}

    def to_yaml(self, full_output: bool = False) -> str:
        data = self.to_dict(full_output)
        data["metadata"] = _metadata()
        return yaml.safe_dump(data, sort_keys=False, indent=4, default_flow_style=False)

    @classmethod
    def from_dict(cls, data, where: str = "models") -> Models:
        if not isinstance(data, dict):
            raise ModelError(
                f"{where}: expected a mapping with 'components', got {type(data).__name__}"
            )
        unknown = set(data) - {"components", "covariance", "metadata", "checksum"}
        if unknown:
            raise ModelError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
        components = data.get("components")
        if not isinstance(components, list):
            raise ModelError(f"{where}: 'components' must be a list")
        models = []
        for i, comp in enumerate(components):
            if not isinstance(comp, dict):
                raise ModelError(f"{where}.components[{i}]: expected a mapping, got {_short(comp)}")
            here = f"{where}.components[{i}]"
            if comp.get("name"):
                name = comp["name"]
                here += f"({name})" if isinstance(name, str) else f"({_short(name)})"
            kind = comp.get("type")
            if not isinstance(kind, str) or kind not in COMPONENT_TYPES:
                raise ModelError(
                    f"{here}: unknown component type {_short(kind)}; known: {sorted(COMPONENT_TYPES)}"
                )
            try:
                models.append(COMPONENT_TYPES[kind].from_dict(comp, where=here))
            except FluxfitError as exc:
                if isinstance(exc, ModelError) and str(exc).startswith(where):
                    raise
                raise ModelError(f"{here}: {exc}") from None
        try:
            out = cls(models)
        except ModelError as exc:
            raise ModelError(f"{where}: {exc}") from None
        _resolve_links(out, where)
        return out

    @classmethod
    def from_yaml(cls, text: str, where: str = "<yaml string>") -> Models:
        data = _safe_load(text, where)
        if isinstance(data, dict) and data.get("covariance"):
            raise ModelError(
                f"{where}: names a covariance file {_short(data['covariance'])}; use Models.read(path)"
            )
        return cls.from_dict(data, where)

    @classmethod
    def read(cls, path, allow_outside: bool = False) -> Models:
        """Read a models YAML file (and its covariance file, if it names one).

        Parameters
        ----------
        path : str or Path
            The YAML file.
        allow_outside : bool
            Let the ``covariance`` entry name a file outside the folder of the YAML file
            (after resolving ``..`` and symbolic links); by default that raises
            `~fluxfit.errors.PathSafetyError`.
        """
        path = Path(path)
        if not path.is_file():
            raise MissingFileError(f"models file {str(path)!r} does not exist")
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise FormatError(f"{path}: cannot read as text ({exc})") from None
        data = _safe_load(text, str(path))
        cov_name = data.get("covariance") if isinstance(data, dict) else None
        with reading_models_file(path):  # template names resolve from the YAML's folder
            models = cls.from_dict(data, str(path))
        if cov_name:
            if not isinstance(cov_name, str):
                raise ModelError(
                    f"{path}: key 'covariance' must be a file name, got {_short(cov_name)}"
                )
            folder = path.parent.resolve()
            cov_path = (path.parent / cov_name).resolve()
            if not allow_outside and not cov_path.is_relative_to(folder):
                raise PathSafetyError(
                    f"{path}: key 'covariance' = {cov_name!r} points to {cov_path}, outside the "
                    f"folder {folder} of the models file; pass allow_outside=True to read it"
                )
            models.read_covariance(cov_path)
        return models

    def write(
        self,
        path,
        overwrite: bool = False,
        full_output: bool = False,
        write_covariance: bool = True,
    ) -> None:
        """Write the models YAML; the covariance goes to ``<stem>_covariance.dat`` beside it."""
        path = Path(path)
        cov_path = path.with_name(f"{path.stem}_covariance.dat")
        for target in [path] + ([cov_path] if write_covariance else []):
            check_output(target, overwrite, "models file" if target == path else "covariance file")
        data = self.to_dict(full_output)
        if write_covariance:
            data["covariance"] = cov_path.name
            self.write_covariance(cov_path, overwrite=True)
        data["metadata"] = _metadata()
        path.write_text(yaml.safe_dump(data, sort_keys=False, indent=4, default_flow_style=False))

    def write_covariance(self, path, overwrite: bool = False) -> None:
        """Write the covariance as Gammapy's fixed-width ASCII table."""
        write_covariance_table(path, self.parameters.names, self.covariance, overwrite=overwrite)

    def read_covariance(self, path) -> None:
        """Read a covariance table written by `write_covariance` (or Gammapy)."""
        labels, matrix = read_covariance_table(path)
        pars = self.parameters
        if labels != pars.names:
            missing = sorted(set(pars.names) - set(labels))
            extra = sorted(set(labels) - set(pars.names))
            if missing or extra:
                raise FormatError(
                    f"{path}: covariance labels do not match the models "
                    f"(missing {missing}, unknown {extra})"
                )
            order = [labels.index(n) for n in pars.names]
            matrix = matrix[np.ix_(order, order)]
        self.covariance = matrix


# ------------------------------------------------------------------ helpers
def _metadata() -> dict:
    from fluxfit import __version__

    return {
        "creator": f"fluxfit {__version__}",
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "origin": None,
    }


def _safe_load(text: str, where: str):
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FormatError(f"{where}: malformed YAML ({exc})") from None
    except (ValueError, TypeError, KeyError, OverflowError) as exc:  # "!!float abc", "!!bool x"
        raise FormatError(f"{where}: a tagged YAML value cannot be built ({exc})") from None
    except RecursionError:
        raise FormatError(f"{where}: YAML nested too deeply") from None
    if data is None:
        raise FormatError(f"{where}: empty YAML document")
    return data


def _parameter_sites(models: Models):
    """(label, parameter, owning elementary model, its parameter name) for every site."""
    for model in models:
        for kind in ("spectral", "spatial", "temporal"):
            comp = getattr(model, f"{kind}_model", None)
            if comp is None:
                continue
            leaves = comp.components if hasattr(comp, "components") else [comp]
            compound = len(leaves) > 1
            for i, leaf in enumerate(leaves, start=1):
                for name, par in leaf._params.items():
                    label = (
                        f"{model.name}.{kind}.{name}_{i}"
                        if compound
                        else f"{model.name}.{kind}.{name}"
                    )
                    yield label, par, leaf, name


def _entry_for(components: list, label: str):
    """The parameter dict in ``components`` (to_dict output) at ``label``."""
    model_name, kind, pname = label.split(".", 2)
    for comp in components:
        comp_name = comp.get("name") or f"{comp['datasets_names'][0]}-bkg"
        if comp_name != model_name:
            continue
        node = comp[kind]
        leaves = _leaf_dicts(node)
        if len(leaves) > 1:
            base, index = pname.rsplit("_", 1)
            node, pname = leaves[int(index) - 1], base
        for entry in node["parameters"]:
            if entry["name"] == pname:
                return entry
    raise ModelError(f"internal: no serialised parameter at {label!r}")


def _leaf_dicts(node: dict) -> list:
    if "model1" in node:
        return _leaf_dicts(node["model1"]) + _leaf_dicts(node["model2"])
    return [node]


def _annotate_links(models: Models, components: list) -> None:
    first_label: dict[int, str] = {}
    count: dict[int, int] = {}
    sites = list(_parameter_sites(models))
    for label, par, _, _ in sites:
        first_label.setdefault(id(par), label)
        count[id(par)] = count.get(id(par), 0) + 1
    for label, par, _, _ in sites:
        entry = _entry_for(components, label)
        if count[id(par)] > 1:
            entry["link"] = first_label[id(par)]
        link = par.link_info
        if link is not None:
            if not link.is_simple:
                raise ModelError(
                    f"{label}: linked through the function {link.function!r}, which YAML "
                    "cannot store; use scale/offset links or unlink before writing"
                )
            master = first_label.get(id(link.master))
            if master is None:
                raise ModelError(
                    f"{label}: linked to {link.master.name!r}, which is not in these models"
                )
            entry["link"] = {"master": master, "scale": link.scale, "offset": link.offset}


def _resolve_links(models: Models, where: str) -> None:
    sites = list(_parameter_sites(models))
    by_label = {label: (par, leaf, name) for label, par, leaf, name in sites}
    shared: dict[str, Parameter] = {}
    functional = []
    for _label, par, leaf, name in sites:
        pending = par.__dict__.pop("_pending_link", None)
        if pending is None:
            continue
        link, here = pending
        if isinstance(link, str):
            master = shared.setdefault(link, par)
            if master is not par:
                leaf._params[name] = master
        else:
            functional.append((par, link, here))
    for par, link, here in functional:
        unknown = set(link) - {"master", "scale", "offset"}
        if unknown or "master" not in link:
            raise ModelError(
                f"{here}.link: needs 'master' (+ 'scale', 'offset'); got {sorted(link)}"
            )
        target = by_label.get(link["master"])
        if target is None:
            raise ModelError(
                f"{here}.link: master {_short(link['master'])} is not a parameter of these models"
            )
        try:
            scale = float(link.get("scale", 1.0))
            offset = float(link.get("offset", 0.0))
        except (TypeError, ValueError):
            raise ModelError(
                f"{here}.link: scale and offset must be numbers, got {_short(link)}"
            ) from None
        if not (math.isfinite(scale) and math.isfinite(offset)):
            raise ModelError(f"{here}.link: scale and offset must be finite, got {_short(link)}")
        try:
            par.link(target[0], scale=scale, offset=offset)
        except FluxfitError as exc:
            raise ModelError(f"{here}.link: {exc}") from None
        with np.errstate(over="ignore", invalid="ignore"):
            derived = par.value
        if not math.isfinite(derived):  # e.g. scale 1e308 times a master of 2
            raise ModelError(
                f"{here}.link: scale {scale!r} and offset {offset!r} of master "
                f"{_short(link['master'])} give the non-finite value {derived}"
            )
    # compound models cache their parameter dict: rebuild after sharing
    for model in models:
        for kind in ("spectral", "spatial", "temporal"):
            comp = getattr(model, f"{kind}_model", None)
            if comp is not None and hasattr(comp, "_collect"):
                object.__setattr__(comp, "_params", comp._collect())


def write_covariance_table(path, labels, matrix, overwrite: bool = False) -> None:
    """Write a covariance matrix as Gammapy does (astropy ascii ``fixed_width``)."""
    from astropy.table import Table

    path = check_output(path, overwrite, "covariance file")
    table = Table()
    table["Parameters"] = list(labels)
    for i in range(len(labels)):
        table[str(i)] = np.asarray(matrix)[:, i]
    table.write(path, format="ascii.fixed_width", delimiter="|", overwrite=True)


def read_covariance_table(path):
    """Read a covariance table; returns (labels, matrix)."""
    from astropy.io import ascii as astropy_ascii

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"covariance file {str(path)!r} does not exist")
    try:
        table = astropy_ascii.read(path, format="fixed_width", delimiter="|")
    except (ValueError, TypeError, IndexError, KeyError, OSError) as exc:
        # astropy's InconsistentTableError and UnicodeDecodeError are ValueErrors
        raise FormatError(f"{path}: not a covariance table ({type(exc).__name__}: {exc})") from None
    if "Parameters" not in table.colnames:
        raise FormatError(f"{path}: covariance table has no 'Parameters' column")
    labels = [str(v) for v in table["Parameters"]]
    columns = [c for c in table.colnames if c != "Parameters"]
    if len(columns) != len(labels):
        raise FormatError(
            f"{path}: covariance table has {len(labels)} rows but {len(columns)} columns"
        )
    try:
        matrix = np.array([np.asarray(table[c], dtype=float) for c in columns]).T
    except (TypeError, ValueError) as exc:
        raise FormatError(f"{path}: non-numeric covariance entries ({exc})") from None
    return labels, matrix
