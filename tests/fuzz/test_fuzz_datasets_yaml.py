"""Fuzz the datasets YAML reader (`Datasets.read` / `fluxfit.datasets.io.read_datasets`).

A valid folder (written by `Datasets.write`: an ON/OFF spectrum in the Gammapy layout, a map
dataset, their models YAML and covariance) is copied per case; the datasets YAML is damaged as a
parsed document (entries deleted, duplicated, keys deleted or renamed, values of the wrong type,
unknown types, file names with ``..``, absolute, missing, ``$VARIABLES``, NUL characters), as
text (the YAML lines of the models fuzz: tags, anchors, aliases, bombs ...) or at the byte level,
and sometimes a data file is damaged (FITS and byte mutations).
"""

from __future__ import annotations

import copy
import functools
import tempfile
import warnings
from pathlib import Path

import numpy as np
import yaml
from _fuzzlib import attempt, mutate_bytes, mutate_fits, mutate_text, write_case
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_config import ALIAS_BOMB, mutate_document
from test_fuzz_models import YAML_LINES
from test_roundtrip_datasets import _fixed_onoff

from fluxfit.datasets import Datasets, MapDataset
from fluxfit.maps import MapAxis, WcsGeom

READER = "datasets YAML (Datasets.read)"


@functools.cache
def base_folder() -> dict[str, bytes]:
    """File name -> bytes of a folder written by `Datasets.write`."""
    import astropy.units as u

    geom = WcsGeom.create(
        skydir=(83.6, 22.0),
        npix=(3, 2),
        binsz=0.1,
        axes=[MapAxis.from_energy_edges([1, 3, 10] * u.TeV)],
    )
    mapds = MapDataset.create(geom, name="map")
    mapds.counts.data[...] = np.arange(mapds.counts.data.size).reshape(mapds.counts.data.shape)
    datasets = Datasets([_fixed_onoff(name="onoff"), mapds])
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from test_fuzz_models import example_models

        models = example_models()
        datasets.write(folder, prefix="x")
        models.write(Path(folder) / "x_models.yaml")
        return {p.name: p.read_bytes() for p in Path(folder).iterdir()}


FILE_VALUES = (
    "../outside.fits",
    "/etc/passwd",
    "$NOPE_UNSET/x.fits",
    "$HOME/../../x.fits",
    "~/x.fits",
    "missing.fits",
    "a\x00b.fits",
    "x_models.yaml",
    "pha_obsonoff.fits",
    "",
    ".",
)


def _document_case(data, text: str) -> str:
    document = yaml.safe_load(text)
    if data.draw(st.booleans(), label="set a filename"):
        entries = document["datasets"]
        index = data.draw(st.integers(0, len(entries) - 1), label="entry")
        key = data.draw(st.sampled_from(["filename", "name", "type"]), label="key")
        value = data.draw(st.sampled_from(FILE_VALUES + ("MapDataset", "Nope", "map")))
        entries[index][key] = value
    document, _ = mutate_document(data, copy.deepcopy(document))
    return yaml.safe_dump(document, sort_keys=False)


def _case(data, files: dict[str, bytes]) -> tuple[dict, bool]:
    files = dict(files)
    text = files["x_datasets.yaml"].decode()
    level = data.draw(
        st.sampled_from(["document", "document", "text", "bomb", "bytes", "data file", "none"]),
        label="level",
    )
    if level == "document":
        text = _document_case(data, text)
    elif level == "text":
        text = mutate_text(data, text, YAML_LINES)
    elif level == "bomb":
        text = ALIAS_BOMB + text.replace("datasets:", "datasets: *a8\nignored:", 1)
    elif level == "bytes":
        files["x_datasets.yaml"] = mutate_bytes(data, text.encode())
        text = None
    elif level == "data file":
        name = data.draw(
            st.sampled_from(sorted(n for n in files if n.endswith(".fits"))), label="file"
        )
        files[name] = mutate_bytes(data, mutate_fits(data, files[name], ("NAME", "LIVETIME")))
    if text is not None:
        files["x_datasets.yaml"] = text.encode()
    return files, data.draw(st.booleans(), label="with models")


@given(data=st.data())
def test_fuzz_datasets_yaml(data):
    files, with_models = _case(data, base_folder())
    with tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-") as root:
        folder = Path(root) / "ds"
        for name, raw in files.items():
            write_case(folder, name, raw)
        write_case(root, "outside.fits", files["pha_obsonoff.fits"])

        def read():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Datasets.read(
                    folder / "x_datasets.yaml", "x_models.yaml" if with_models else None
                )

        datasets, _ = attempt(READER, read, [str(folder), "x_datasets.yaml", "ds/"])
        if datasets is not None:
            assert len(datasets.names) == len(set(datasets.names))
