"""Fuzz the models YAML reader (`Models.read` with its covariance file, `Models.from_yaml`).

Valid YAML is written by `Models.write` (sky models with compound spectra, priors of every
type, parameter links, a background model and a covariance file). Cases damage it at three
levels: the parsed document (keys deleted or renamed, values of the wrong type, unknown model
types, NaN/inf, huge numbers), the text (lines dropped, cut, duplicated; YAML tags, anchors,
aliases and merge keys; an alias "bomb") and the covariance file (damaged, or named with a
path leaving the folder).
"""

from __future__ import annotations

import functools
import math
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import yaml
from _fuzzlib import attempt, document_parent, document_paths, mutate_text, write_case
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.models import (
    BlackbodySpectralModel,
    ExpCutoffPowerLawSpectralModel,
    FoVBackgroundModel,
    GaussianPrior,
    GaussianSpatialModel,
    LogNormalPrior,
    LogUniformPrior,
    Models,
    PointSpatialModel,
    PowerLawSpectralModel,
    SkyModel,
    TruncatedGaussianPrior,
    UniformPrior,
)


def example_models() -> Models:
    """Models using every prior type, a shared parameter, a scale/offset link, a covariance."""
    pl = PowerLawSpectralModel(index=2.3, amplitude="2e-12 cm-2 s-1 TeV-1")
    pl.index.prior = UniformPrior(min=1.0, max=4.0)
    pl.amplitude.prior = LogUniformPrior(min=1e-14, max=1e-10)
    ecpl = ExpCutoffPowerLawSpectralModel()
    ecpl.index.prior = GaussianPrior(mu=2.0, sigma=0.3)
    ecpl.lambda_.prior = TruncatedGaussianPrior(mu=0.1, sigma=0.05, lower=0.0, upper=1.0)
    bb = BlackbodySpectralModel()
    bb.kT.prior = LogNormalPrior(mu=np.log(300.0), sigma=2.0)
    compound = ecpl + bb
    ecpl.index.link(pl.index, scale=1.0, offset=0.25)
    src1 = SkyModel(
        pl,
        PointSpatialModel(lon_0=83.6 * u.deg, lat_0=22.0 * u.deg, frame="icrs"),
        name="src1",
        datasets_names=["d1"],
    )
    src2 = SkyModel(
        compound,
        GaussianSpatialModel(lon_0="83.5 deg", lat_0="22.1 deg", sigma="0.2 deg", frame="icrs"),
        name="src2",
    )
    bkg = FoVBackgroundModel(dataset_name="d1")
    models = Models([src1, src2, bkg])
    n = len(models.parameters)
    rng = np.random.default_rng(5)
    a = rng.normal(size=(n, n)) * 1e-3
    models.covariance = a @ a.T
    return models


@functools.cache
def base_files() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "models.yaml"
        example_models().write(path)
        text = path.read_text()
        document = yaml.safe_load(text)
        document.pop("covariance")
        return {
            "models.yaml": text,
            "models_nocov.yaml": yaml.safe_dump(document, sort_keys=False),
            "models_covariance.dat": (Path(folder) / "models_covariance.dat").read_text(),
        }


# ------------------------------------------------------------------------------ document level
ODD_VALUES = (
    None,
    "abc",
    "",
    -1,
    0,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    [],
    {},
    True,
    "1e5",
    [1, 2],
    {"type": "Nope"},
    "NoSuchModel",
    "../../outside.dat",
    "/etc/passwd",
    10**30,
)


def mutate_document(data, document):
    count = data.draw(st.integers(0, 3), label="n document mutations")
    for _ in range(count):
        paths = [path for path, _ in document_paths(document) if path]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = document_parent(document, path), path[-1]
        kind = data.draw(
            st.sampled_from(["delete", "replace", "replace", "rename", "duplicate"]), label="kind"
        )
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = data.draw(st.sampled_from(ODD_VALUES), label="value")
        elif kind == "rename" and isinstance(parent, dict):
            new = data.draw(st.sampled_from(["type", "name", "value", "extra", "Value"]))
            parent[new] = parent.pop(key)
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])
    return document


YAML_LINES = (
    "!!python/object/apply:os.system ['echo pwned']\n",
    "x: !!python/name:os.system\n",
    "- !custom {a: 1}\n",
    "anchor: &a {name: index, value: 2}\n",
    "- *a\n",
    "<<: *a\n",
    "value: *undefined\n",
    "value: !!float nan\n",
    "value: .inf\n",
    "value: !!float abc\n",
    "value: !!int 1.5\n",
    "value: !!bool maybe\n",
    "name: !!timestamp 2001-13-45\n",
    "name: [unhashable, list]\n",
    "? [complex, key]\n: 1\n",
    "%YAML 1.1\n---\n",
    "---\nsecond: document\n",
    "\t tab\n",
)

#: An alias bomb: 9**8 ~ 43 million references if expanded (PyYAML keeps them shared).
ALIAS_BOMB = "".join(
    [
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)),
    ]
)


def _bomb(data, document_text: str) -> str:
    """Put the alias bomb somewhere the reader looks (or only in an unread key)."""
    where = data.draw(
        st.sampled_from(
            ["components", "parameters", "value", "name", "type", "covariance", "metadata"]
        ),
        label="bomb at",
    )
    if where == "components":
        return ALIAS_BOMB + "components: *a8\n"
    if where == "metadata":  # a recursive list in a key the reader does not use
        return document_text + "\nrecursive: &r [*r, *r]\n"
    document = yaml.safe_load(document_text)
    placeholder = "__BOMB__"
    if where in ("parameters", "value", "name"):
        entry = document["components"][0]["spectral"]
        if where == "parameters":
            entry["parameters"] = placeholder
        else:
            entry["parameters"][0][where] = placeholder
    elif where == "type":
        document["components"][0]["spectral"]["type"] = placeholder
    else:
        document[where] = placeholder
    text = yaml.safe_dump(document, sort_keys=False)
    return ALIAS_BOMB + text.replace(f"'{placeholder}'", "*a8").replace(placeholder, "*a8")


COVARIANCE_NAMES = (
    "models_covariance.dat",
    "../outside_covariance.dat",
    "/etc/passwd",
    "sub/../models_covariance.dat",
    "missing.dat",
    "link_covariance.dat",
)


def _case_text(data, base="models.yaml") -> tuple[str, str]:
    files = base_files()
    text = files[base]
    level = data.draw(
        st.sampled_from(["document", "document", "text", "bomb", "covariance", "none"]),
        label="level",
    )
    covariance = files["models_covariance.dat"]
    if level == "document":
        document = mutate_document(data, yaml.safe_load(text))
        text = yaml.safe_dump(document, sort_keys=False)
    elif level == "text":
        text = mutate_text(data, text, YAML_LINES)
    elif level == "bomb":
        text = _bomb(data, text)
    elif level == "covariance":
        document = yaml.safe_load(text)
        document["covariance"] = data.draw(st.sampled_from(COVARIANCE_NAMES), label="cov name")
        text = yaml.safe_dump(document, sort_keys=False)
        covariance = mutate_text(
            data, covariance, ("garbage\n", "| a | b |\n", "nan nan\n", "|Parameters|\n")
        )
    return text, covariance


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _check(models: Models):
    for par in models.parameters:
        assert math.isfinite(par.value)
    with np.errstate(over="ignore"):  # an error of 1e308 squares to inf: allowed
        cov = models.covariance
    assert cov.shape == (len(models.parameters),) * 2


@given(data=st.data())
def test_fuzz_models_yaml_read(data):
    text, covariance = _case_text(data)
    allow_outside = data.draw(st.booleans(), label="allow_outside")
    with tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-") as root:
        folder = Path(root) / "models"
        path = write_case(folder, "models.yaml", text)
        write_case(folder, "models_covariance.dat", covariance)
        write_case(root, "outside_covariance.dat", base_files()["models_covariance.dat"])
        (folder / "link_covariance.dat").symlink_to(Path(root) / "outside_covariance.dat")
        models, _ = attempt(
            "models YAML (Models.read)",
            lambda: _quietly(Models.read, path, allow_outside=allow_outside),
            ["models.yaml", "covariance", "passwd", "missing.dat"],
        )
        if models is not None:
            _check(models)


@given(data=st.data())
def test_fuzz_models_from_yaml(data):
    text, _ = _case_text(data, "models_nocov.yaml")
    models, _ = attempt(
        "models YAML (Models.from_yaml)",
        lambda: _quietly(Models.from_yaml, text, where="fuzz.yaml"),
        ["fuzz.yaml"],
    )
    if models is not None:
        _check(models)
