"""Paths: output names come from the user, writers do not overwrite unless told, and names
read from file contents do not lead outside the folder the user gave without saying so.

OGIP BACKFILE / RESPFILE / ANCRFILE are covered in ``test_ogip_synthetic.py`` and
``test_ogip_real.py``; the GADF HDU index in ``tests/data/test_path_safety.py``.
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
import pytest
import yaml

from fluxfit.datasets import Datasets, FluxPoints, SpectrumDataset
from fluxfit.datasets.io import read_datasets
from fluxfit.errors import OverwriteError, PathSafetyError
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.maps import MapAxis
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

EDGES = np.geomspace(1, 10, 5) * u.TeV


def spectrum(name):
    return SpectrumDataset(
        counts=np.arange(4.0),
        exposure=np.full(4, 1e12),
        edisp=EnergyDispersionMatrix(EDGES, EDGES, np.eye(4)),
        background=np.ones(4),
        name=name,
    )


def models():
    return Models([SkyModel(PowerLawSpectralModel(), name="src")])


# ---------------------------------------------------------------- names from contents
@pytest.mark.parametrize("name", ["../escape", "sub/../../escape", "/tmp/escape", "a/b"])
def test_dataset_names_cannot_write_outside_the_folder(tmp_path, name):
    """The data file of a dataset is named after the dataset, which may come from a file."""
    out = tmp_path / "out"
    with pytest.raises(PathSafetyError, match="not a plain file name inside"):
        Datasets([spectrum(name)]).write(out)
    assert not (tmp_path / "escape.fits").exists()
    assert not list(tmp_path.glob("**/escape.fits"))


def test_datasets_file_reading_outside_its_folder_says_so(tmp_path, caplog):
    Datasets([spectrum("a")]).write(tmp_path / "one")
    (tmp_path / "two").mkdir()
    entry = {"name": "a", "type": "SpectrumDataset", "filename": "../one/a.fits"}
    (tmp_path / "two" / "datasets.yaml").write_text(yaml.safe_dump({"datasets": [entry]}))
    with caplog.at_level(logging.WARNING, logger="fluxfit.datasets.io"):
        datasets = read_datasets(tmp_path / "two" / "datasets.yaml")
    assert datasets.names == ["a"]
    assert "outside the folder of the datasets file" in caplog.text
    assert "'../one/a.fits'" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fluxfit.datasets.io"):
        read_datasets(tmp_path / "one" / "datasets.yaml")
    assert "outside" not in caplog.text


def test_models_covariance_outside_the_folder_is_refused(tmp_path):
    m = models()
    (tmp_path / "fit").mkdir()
    m.write(tmp_path / "fit" / "models.yaml", write_covariance=True)
    text = (tmp_path / "fit" / "models.yaml").read_text()
    data = yaml.safe_load(text)
    assert data["covariance"] == "models_covariance.dat"
    (tmp_path / "other").mkdir()
    (tmp_path / "fit" / "models_covariance.dat").rename(tmp_path / "other" / "cov.dat")
    data["covariance"] = "../other/cov.dat"
    (tmp_path / "fit" / "models.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(PathSafetyError, match=r"'covariance' = '\.\./other/cov\.dat'"):
        Models.read(tmp_path / "fit" / "models.yaml")
    assert Models.read(tmp_path / "fit" / "models.yaml", allow_outside=True).names == ["src"]


# ---------------------------------------------------------------- overwrite
def _flux_points():
    axis = MapAxis.from_energy_edges(EDGES)
    return FluxPoints({"dnde": [1e-12, 5e-13, 2e-13, 1e-13]}, axis)


WRITERS = {
    "models": lambda path: models().write(path),
    "datasets": lambda path: Datasets([spectrum("a")]).write(path),
    "datasets-ogip": lambda path: _onoff().write(path),
    "flux-points-fits": lambda path: _flux_points().write(path.with_suffix(".fits")),
    "flux-points-ecsv": lambda path: _flux_points().write(path.with_suffix(".ecsv")),
}


def _onoff():
    from fluxfit.datasets import SpectrumDatasetOnOff

    return SpectrumDatasetOnOff(
        counts=np.arange(4.0),
        counts_off=np.ones(4),
        acceptance=1,
        acceptance_off=5,
        exposure=np.full(4, 1e12),
        edisp=EnergyDispersionMatrix(EDGES, EDGES, np.eye(4)),
        name="onoff",
        livetime=100.0,
    )


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_refuse_to_overwrite(tmp_path, writer):
    write = WRITERS[writer]
    target = tmp_path / ("out" if writer.startswith("datasets") else "out.yaml")
    write(target)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert before
    with pytest.raises(OverwriteError, match="overwrite=True"):
        write(target)
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing replaced, nothing half-written
