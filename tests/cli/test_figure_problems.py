"""A figure (or part of one) that cannot be drawn is not silently dropped: the results folder
records it in ``fit.json`` ("figure_problems"), a warning names it, and the report lists it
with the reason. Errors that are not drawing problems propagate."""

from __future__ import annotations

import json
import logging

import astropy.units as u
import numpy as np
import pytest

from fluxfit.cli.report import build_report
from fluxfit.cli.results_dir import write_analysis
from fluxfit.datasets import Datasets, FluxPoints, SpectrumDataset
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.maps import MapAxis
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel
from fluxfit.models.spectral.core import SpectralModel

EDGES = np.geomspace(1, 10, 5) * u.TeV


def analysis():
    dataset = SpectrumDataset(
        counts=np.array([5.0, 3.0, 2.0, 1.0]),
        exposure=np.full(4, 1e12),
        edisp=EnergyDispersionMatrix(EDGES, EDGES, np.eye(4)),
        background=np.ones(4),
        name="run1",
    )
    datasets = Datasets([dataset])
    datasets.models = Models([SkyModel(PowerLawSpectralModel(), name="crab")])
    return datasets


def broken_band(self, *args, **kwargs):
    raise np.linalg.LinAlgError("covariance is singular")


def test_write_analysis_records_a_band_that_cannot_be_drawn(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(SpectralModel, "plot_error", broken_band)
    with caplog.at_level(logging.WARNING, logger="fluxfit.cli.results_dir"):
        path = write_analysis(tmp_path, "test", analysis())
    summary = json.loads(path.read_text())
    assert summary["figure_problems"] == [
        {
            "figure": "sed",
            "what": "1-sigma band of model 'crab'",
            "reason": "LinAlgError: covariance is singular",
        }
    ]
    assert "figure 'sed': 1-sigma band of model 'crab' not drawn" in caplog.text
    text = build_report(tmp_path)
    assert "Figures not drawn" in text
    assert "LinAlgError: covariance is singular" in text


def test_report_records_what_it_cannot_redraw(tmp_path, monkeypatch, caplog):
    datasets = analysis()
    datasets.models.write(tmp_path / "models.yaml")
    axis = MapAxis.from_energy_edges(EDGES)
    FluxPoints({"dnde": [1e-12, 5e-13, 2e-13, 1e-13]}, axis).write(tmp_path / "fp.fits")
    summary = {"title": "t", "files": {"models": "models.yaml", "flux_points": "fp.fits"}}
    summary["figures"] = [{"file": "figures/gone.png", "caption": "a figure deleted since"}]
    (tmp_path / "fit.json").write_text(json.dumps(summary))
    monkeypatch.setattr(SpectralModel, "plot_error", broken_band)
    with caplog.at_level(logging.WARNING, logger="fluxfit.cli.results_dir"):
        text = build_report(tmp_path)
    assert "1-sigma band of model &#x27;crab&#x27;" in text
    assert "covariance is singular" in text
    assert "figures/gone.png not found" in text
    assert "figure 'sed'" in caplog.text
    assert text.count("data:image/png;base64,") == 1  # the SED, without its band


def test_unexpected_errors_are_not_swallowed(tmp_path, monkeypatch):
    def bug(self, *args, **kwargs):
        raise KeyError("a bug, not a drawing problem")

    monkeypatch.setattr(SpectralModel, "plot_error", bug)
    with pytest.raises(KeyError):
        write_analysis(tmp_path, "test", analysis())
