"""Fuzz the analysis configuration reader of ``fluxfit run`` (`fluxfit.cli.config.load_config`).

Valid configurations (every section filled: DL3 with selection and time intervals, OGIP /
datasets / flux points inputs, reduction, inline or file models, fit, estimators, outputs)
are dumped as YAML and damaged at three levels:

* the parsed document: keys deleted, renamed (to unknown keys, or to other valid keys),
  values replaced by the wrong type, NaN/inf, huge numbers, paths with ``..`` or absolute,
  lists and mappings where scalars are expected, items duplicated;
* the text: lines dropped, cut, duplicated, swapped, characters replaced, YAML tags
  (``!!python/object/apply``, ``!!python/name``, custom tags), anchors, aliases, merge keys,
  undefined aliases, recursive aliases, an alias "bomb", deep nesting, several documents,
  tabs, NUL bytes and non-UTF-8 garbage;
* the bytes: truncation anywhere, garbage, an empty file.

Every case must give a valid `AnalysisConfig` or a `~fluxfit.errors.FluxfitError` naming the
file (and, for a document that parsed, the key path of each problem).
"""

from __future__ import annotations

import copy
import functools
import math
import re
import tempfile

import pytest
import yaml
from _fuzzlib import (
    attempt,
    document_parent,
    document_paths,
    mutate_bytes,
    mutate_text,
    write_case,
)
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("pydantic")

from fluxfit.cli.config import AnalysisConfig, load_config

READER = "analysis config YAML (load_config)"


@functools.cache
def base_documents() -> dict[str, dict]:
    """Valid configurations (parsed documents)."""
    dl3 = {
        "title": "PKS 2155-304 time resolved",
        "data": {
            "dl3": {
                "path": "../shared/data/gammapy-data/hess-dl3-dr1",
                "selection": {
                    "type": "sky_circle",
                    "frame": "icrs",
                    "lon": "329.71693826 deg",
                    "lat": "-30.2255890 deg",
                    "radius": "2 deg",
                },
                "obs_ids": [33787, 33788],
                "time_intervals": {
                    "start": "2006-07-29T20:30",
                    "duration": "15 min",
                    "n_intervals": 24,
                },
            }
        },
        "reduction": {
            "on_region": {
                "frame": "icrs",
                "lon": "329.71693826 deg",
                "lat": "-30.2255890 deg",
                "radius": "0.11 deg",
            },
            "energy_axis": {"min": "0.4 TeV", "max": "20 TeV", "nbin": 10},
            "energy_axis_true": {"min": "0.1 TeV", "max": "40 TeV", "nbin": 20},
            "background": "reflected",
            "containment_correction": True,
            "safe_mask": {"methods": ["aeff-max", "offset-max"], "aeff_percent": 10.0},
        },
        "models": [
            {
                "name": "pks2155",
                "spectral": {
                    "type": "PowerLawSpectralModel",
                    "parameters": {
                        "index": 3.0,
                        "amplitude": "2e-11 cm-2 s-1 TeV-1",
                        "reference": "1 TeV",
                    },
                    "frozen": ["reference"],
                },
                "datasets_names": ["a", "b"],
            }
        ],
        "fit": {"method": "mle", "seed": 1},
        "estimators": {"time_resolved": {"energy_range": ["1 TeV", "10 TeV"]}},
        "outputs": {"dir": "seed003-results", "report": False, "overwrite": True},
    }
    files = {
        "data": {
            "ogip": ["pha_obs23523.fits", "spectra/pha_obs23526.fits"],
            "datasets": "joint_datasets.yaml",
            "flux_points": ["fp.fits", "fp.ecsv"],
        },
        "models": "models.yaml",
        "fit": {
            "method": "bayes",
            "sampler": "ultranest",
            "sampler_options": {"min_num_live_points": 100, "frac_remain": 0.5},
            "seed": None,
        },
        "estimators": {
            "flux_points": {"energy_edges": ["1 TeV", "3 TeV", "10 TeV"], "source": "crab"},
            "lightcurve": {"energy_range": ["1 TeV", "10 TeV"], "source": "crab"},
        },
        "outputs": {"dir": "out"},
    }
    minimal = {"data": {}, "models": "m.yaml"}
    return {"dl3": dl3, "files": files, "minimal": minimal}


@functools.cache
def base_texts() -> dict[str, str]:
    texts = {name: yaml.safe_dump(doc, sort_keys=False) for name, doc in base_documents().items()}
    texts["flow"] = yaml.safe_dump(
        base_documents()["dl3"], sort_keys=False, default_flow_style=True
    )
    return texts


# ------------------------------------------------------------------------------ document level
ODD_VALUES = (
    None,
    "",
    "abc",
    "1e5",
    "nan",
    -1,
    0,
    1,
    2.5,
    10**30,
    -(10**30),
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    True,
    False,
    [],
    {},
    [1, "a", None],
    {"type": "Nope"},
    {"unknown": 1},
    "../../outside",
    "../../../etc/passwd",
    "/etc/passwd",
    "/",
    "~/data",
    "$HOME/data",
    "a\x00b",
    "sub/../../x.fits",
    "NoSuchModel",
    "bayes",
    "sky_circle",
    "1 TeV",
    "-1 TeV",
    "nan TeV",
    "2006-13-45T99:99",
)
UNKNOWN_KEYS = ("colour", "extra", "Type", "DATA", "", "1", "models ", "data.ogip")


def mutate_document(data, document):
    """0-3 mutations of the parsed document; returns it and the paths touched."""
    touched = []
    count = data.draw(st.integers(0, 3), label="n document mutations")
    for _ in range(count):
        paths = [path for path, _ in document_paths(document) if path]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = document_parent(document, path), path[-1]
        kind = data.draw(
            st.sampled_from(
                ["delete", "replace", "replace", "replace", "rename", "unknown", "duplicate"]
            ),
            label="kind",
        )
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = copy.deepcopy(data.draw(st.sampled_from(ODD_VALUES), label="value"))
        elif kind == "rename" and isinstance(parent, dict):
            siblings = [k for k in parent if k != key] or ["x"]
            new = data.draw(st.sampled_from([*siblings, *UNKNOWN_KEYS]), label="new key")
            parent[new] = parent.pop(key)
        elif kind == "unknown" and isinstance(parent, dict):
            new = data.draw(st.sampled_from(UNKNOWN_KEYS), label="unknown key")
            parent[new] = data.draw(st.sampled_from(ODD_VALUES[:12]), label="unknown value")
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(key, copy.deepcopy(parent[key]))
        touched.append((kind, path))
    return document, touched


# ------------------------------------------------------------------------------ text level
YAML_LINES = (
    "!!python/object/apply:os.system ['echo pwned']\n",
    "title: !!python/object/apply:os.system ['echo pwned']\n",
    "title: !!python/name:os.system\n",
    "title: !!python/object/new:collections.OrderedDict [[]]\n",
    "data: !custom {a: 1}\n",
    "- !!binary aGVsbG8=\n",
    "anchor: &a {ogip: [a.fits]}\n",
    "data: *a\n",
    "<<: *a\n",
    "<<: {fit: {method: bayes}}\n",
    "models: *undefined\n",
    "title: &r [*r]\n",
    "x: !!float nan\n",
    "title: !!float abc\n",
    "seed: !!int 1.5\n",
    "title: !!timestamp 2001-13-45\n",
    "title: !!binary '!!!'\n",
    "title: !!bool maybe\n",
    "title: !!set {a, b}\n",
    "title: !!omap [a: 1]\n",
    "aeff_percent: .inf\n",
    "nbin: 1e400\n",
    "? [complex, key]\n: 1\n",
    "? {a: 1}\n: 2\n",
    "%YAML 1.1\n---\n",
    "%TAG ! tag:evil.com,2000:\n",
    "---\nsecond: document\n",
    "...\n",
    "\t tab\n",
    "title: \x00nul\n",
    "title: \x85\u2028\n",
    "data: {ogip: [../../../etc/passwd]}\n",
    "outputs: {dir: /tmp/../../root}\n",
    "models: [{name: x, spectral: {type: PowerLawSpectralModel, parameters: {index: .nan}}}]\n",
    "fit: {seed: 99999999999999999999999999999}\n",
    "data: " + "[" * 200 + "]" * 200 + "\n",
)

#: An alias bomb: 9**8 ~ 43 million references if expanded (PyYAML keeps them shared).
ALIAS_BOMB = "".join(
    [
        'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n',
        *(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)),
    ]
)
#: The same bomb as one flow sequence whose last item holds the 9**8 references.
INLINE_BOMB = (
    "[&a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol], "
    + ", ".join(f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9))
    + "]"
)
BOMB_SITES = (
    ("title",),
    ("models",),
    ("data", "ogip"),
    ("data", "flux_points"),
    ("fit", "sampler_options"),
    ("fit", "sampler_options", "nested"),
    ("estimators", "flux_points", "energy_edges"),
    ("models", 0, "spectral", "parameters"),
    ("models", 0, "spectral", "frozen"),
    ("reduction", "safe_mask", "methods"),
)


def _bomb(data) -> str:
    """The alias bomb (43 million shared leaves) at a key path, or a recursive alias."""
    document = copy.deepcopy(base_documents()["dl3"])
    site = data.draw(st.sampled_from(BOMB_SITES), label="bomb at")
    node = document
    for key in site[:-1]:
        if isinstance(node, dict):
            node = node.setdefault(key, {})
        else:
            node = node[key]
    node[site[-1]] = "__BOMB__"
    text = yaml.safe_dump(document, sort_keys=False)
    target = data.draw(st.sampled_from(["*a8", "*a3", "inline", "&r [*r, *r]"]), label="bomb")
    if target == "inline":  # defined at the site itself: accepted where any value is
        target = INLINE_BOMB
    text = text.replace("'__BOMB__'", target).replace("__BOMB__", target)
    prefix = ALIAS_BOMB if target in ("*a8", "*a3") else ""
    return prefix + text


def _deep(data) -> str:
    depth = data.draw(st.sampled_from([50, 500, 5000, 50000]), label="depth")
    kind = data.draw(st.sampled_from(["list", "mapping"]), label="nesting")
    if kind == "list":
        return "data: {ogip: " + "[" * depth + "a" + "]" * depth + "}\nmodels: m.yaml\n"
    return "data: " + "{a: " * depth + "1" + "}" * depth + "\nmodels: m.yaml\n"


def _case(data) -> tuple[bytes | str, list]:
    base = data.draw(st.sampled_from(sorted(base_texts())), label="base")
    text = base_texts()[base]
    level = data.draw(
        st.sampled_from(
            ["document", "document", "document", "text", "text", "bomb", "deep", "bytes", "none"]
        ),
        label="level",
    )
    touched = []
    if level == "document":
        name = "dl3" if base == "flow" else base
        document, touched = mutate_document(data, copy.deepcopy(base_documents()[name]))
        flow = data.draw(st.booleans(), label="flow style")
        text = yaml.safe_dump(document, sort_keys=False, default_flow_style=flow or None)
    elif level == "text":
        text = mutate_text(data, text, YAML_LINES)
    elif level == "bomb":
        text = _bomb(data)
    elif level == "deep":
        text = _deep(data)
    elif level == "bytes":
        return mutate_bytes(data, text.encode(), allow_gzip=True), touched
    return text, touched


PROBLEM_LINE = re.compile(r"^  (\S.*?): ")


def _check_config(config, raw):
    assert isinstance(config, AnalysisConfig)
    reduction = config.reduction
    if reduction is not None:
        assert math.isfinite(reduction.safe_mask.aeff_percent)
    if config.models is not None and not isinstance(config.models, str):  # optional since profiles
        for model in config.models:
            for value in model.spectral.parameters.values():
                assert isinstance(value, str) or math.isfinite(value)
    # paths are kept as written (resolved later, from the file's folder)
    for name in config.data.ogip:
        assert isinstance(name, str)


def _check_error(error, path, touched):
    message = str(error)
    assert str(path) in message, message
    if "invalid analysis configuration" in message:
        problems = message.splitlines()[1:]
        assert problems, message
        for line in problems:
            if re.fullmatch(r"  \.\.\. and \d+ more", line):
                continue
            assert PROBLEM_LINE.match(line), f"problem without a key path: {line!r}"
        # one required key deleted: the message names it
        if len(touched) == 1 and touched[0][0] == "delete" and "Field required" in message:
            assert str(touched[0][1][-1]) in message, message


@given(data=st.data())
def test_fuzz_analysis_config(data):
    raw, touched = _case(data)
    with tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-") as folder:
        path = write_case(folder, "analysis.yaml", raw)
        config, error = attempt(READER, lambda: load_config(path), [path.name])
        if config is not None:
            _check_config(config, raw)
        else:
            _check_error(error, path, touched)


def test_config_missing_file(tmp_path):
    from fluxfit.errors import FluxfitError

    with pytest.raises(FluxfitError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("name", sorted(["dl3", "files", "minimal"]))
def test_config_base_documents_are_valid(tmp_path, name):
    path = tmp_path / "analysis.yaml"
    path.write_text(base_texts()[name])
    config = load_config(path)
    again = AnalysisConfig.model_validate(config.model_dump())
    assert again == config
