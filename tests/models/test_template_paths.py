"""Template files named in a models YAML: looked for beside the YAML first, then where they
were before (current folder, ``$VARIABLES``); a file outside the YAML's folder is read with a
warning naming the YAML, the key and the file."""

from __future__ import annotations

import logging

import pytest
from astropy.table import Table

from fluxfit.errors import MissingFileError, ModelError
from fluxfit.maps import Map
from fluxfit.models import (
    LightCurveTemplateTemporalModel,
    Models,
    PowerLawSpectralModel,
    SkyModel,
    TemplateSpatialModel,
)


def _light_curve(path):
    table = Table({"TIME": [55000.0, 55001.0, 55002.0], "NORM": [1.0, 2.0, 1.0]})
    table.meta.update({"MJDREFI": 0, "MJDREFF": 0.0, "TIMESYS": "TT", "TIMEUNIT": "d"})
    table.write(path)
    return path


def _map(path):
    m = Map.create(npix=(8, 6), binsz=0.1, skydir=(83.6, 22.0), frame="icrs")
    m.data += 1.0
    m.write(path)
    return path


def _write_yaml(folder, spatial_name, temporal_name, spatial_file, temporal_file):
    """A models YAML in ``folder`` naming the templates as given (names kept as written)."""
    spatial = TemplateSpatialModel.read(spatial_file)
    temporal = LightCurveTemplateTemporalModel.read(temporal_file)
    spatial.filename, temporal.filename = spatial_name, temporal_name
    models = Models(
        [SkyModel(PowerLawSpectralModel(), spatial, temporal_model=temporal, name="src")]
    )
    path = folder / "models.yaml"
    models.write(path, write_covariance=False)
    return path


@pytest.fixture
def layout(tmp_path, monkeypatch):
    """models/ with the YAML, elsewhere/ as the current folder."""
    models_dir = tmp_path / "models"
    elsewhere = tmp_path / "elsewhere"
    models_dir.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return models_dir, elsewhere


def _outside_warnings(caplog):
    return [r.getMessage() for r in caplog.records if "outside the folder" in r.getMessage()]


def test_relative_names_resolve_beside_the_yaml(layout, caplog):
    models_dir, _ = layout
    _map(models_dir / "map.fits")
    _light_curve(models_dir / "lc.fits")
    path = _write_yaml(
        models_dir, "map.fits", "lc.fits", models_dir / "map.fits", models_dir / "lc.fits"
    )
    with caplog.at_level(logging.WARNING, logger="fluxfit"):
        models = Models.read(path)  # the current folder has no map.fits / lc.fits
    assert not _outside_warnings(caplog)
    model = models["src"]
    assert model.spatial_model.filename == "map.fits"  # kept as written: relocatable
    assert model.temporal_model.filename == "lc.fits"
    # written back beside the YAML, the names stay relative
    models.write(models_dir / "again.yaml", write_covariance=False)
    text = (models_dir / "again.yaml").read_text()
    assert "filename: map.fits" in text and "filename: lc.fits" in text


def test_yaml_folder_wins_over_current_folder(layout):
    models_dir, elsewhere = layout
    _light_curve(models_dir / "lc.fits")
    table = Table({"TIME": [55000.0, 55003.0], "NORM": [5.0, 5.0]})
    table.meta.update({"MJDREFI": 0, "MJDREFF": 0.0, "TIMESYS": "TT", "TIMEUNIT": "d"})
    table.write(elsewhere / "lc.fits")
    _map(models_dir / "map.fits")
    path = _write_yaml(
        models_dir, "map.fits", "lc.fits", models_dir / "map.fits", models_dir / "lc.fits"
    )
    temporal = Models.read(path)["src"].temporal_model
    assert len(temporal.table) == 3  # the one beside the YAML


def test_current_folder_fallback_warns(layout, caplog):
    models_dir, elsewhere = layout
    _map(elsewhere / "map.fits")
    _light_curve(models_dir / "lc.fits")
    path = _write_yaml(
        models_dir, "map.fits", "lc.fits", elsewhere / "map.fits", models_dir / "lc.fits"
    )
    with caplog.at_level(logging.WARNING, logger="fluxfit"):
        Models.read(path)
    (message,) = _outside_warnings(caplog)
    assert str(path) in message
    assert "spatial" in message and "'filename'" in message
    assert str((elsewhere / "map.fits").resolve()) in message


def test_parent_and_variable_names_warn(layout, caplog, monkeypatch):
    models_dir, _ = layout
    shared = models_dir.parent / "shared"
    shared.mkdir()
    _map(shared / "map.fits")
    _light_curve(shared / "lc.fits")
    monkeypatch.setenv("FLUXFIT_TEST_TEMPLATES", str(shared))
    path = _write_yaml(
        models_dir,
        "../shared/map.fits",
        "$FLUXFIT_TEST_TEMPLATES/lc.fits",
        shared / "map.fits",
        shared / "lc.fits",
    )
    with caplog.at_level(logging.WARNING, logger="fluxfit"):
        models = Models.read(path)
    messages = _outside_warnings(caplog)
    assert len(messages) == 2
    assert any("../shared/map.fits" in m for m in messages)
    assert any("$FLUXFIT_TEST_TEMPLATES/lc.fits" in m for m in messages)
    assert models["src"].temporal_model.filename == "$FLUXFIT_TEST_TEMPLATES/lc.fits"


def test_missing_template_is_named(layout):
    models_dir, _ = layout
    _map(models_dir / "map.fits")
    _light_curve(models_dir / "lc.fits")
    path = _write_yaml(
        models_dir, "map.fits", "lc.fits", models_dir / "map.fits", models_dir / "lc.fits"
    )
    (models_dir / "lc.fits").unlink()
    with pytest.raises((MissingFileError, ModelError), match=r"lc\.fits"):
        Models.read(path)


def test_from_yaml_string_uses_current_folder(layout):
    models_dir, elsewhere = layout
    _map(elsewhere / "map.fits")
    _light_curve(elsewhere / "lc.fits")
    path = _write_yaml(
        models_dir, "map.fits", "lc.fits", elsewhere / "map.fits", elsewhere / "lc.fits"
    )
    models = Models.from_yaml(path.read_text())
    assert models["src"].spatial_model.filename == "map.fits"
