"""`fluxfit run analysis.yaml`: validation messages, an OGIP fit, the seed-003 analysis."""

import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from fluxfit.cli.main import main
from fluxfit.errors import FormatError

pytest.importorskip("pydantic", minversion="2")

from fluxfit.cli.config import load_config

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("FLUXFIT_DATA", REPO.parent / "shared" / "data"))
HESS = DATA / "gammapy-data" / "joint-crab" / "spectra" / "hess"
DL3 = DATA / "gammapy-data" / "hess-dl3-dr1"

SEED003 = """
title: PKS 2155-304 time-resolved (seed 003)
data:
  dl3:
    path: {path}
    selection: {{type: sky_circle, frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg,
                radius: 2 deg}}
    time_intervals: {{start: "2006-07-29T20:30", duration: 15 min, n_intervals: 24}}
reduction:
  on_region: {{frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg, radius: 0.11 deg}}
  energy_axis: {{min: 0.4 TeV, max: 20 TeV, nbin: 10}}
  energy_axis_true: {{min: 0.1 TeV, max: 40 TeV, nbin: 20}}
  background: reflected
  safe_mask: {{methods: [aeff-max], aeff_percent: 10}}
models:
  - name: pks2155
    spectral:
      type: PowerLawSpectralModel
      parameters: {{index: 3.0, amplitude: 2e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}
estimators:
  time_resolved: {{energy_range: [1 TeV, 10 TeV]}}
outputs: {{dir: results, report: true}}
"""

OGIP = """
data:
  ogip: [{a}, {b}]
models:
  - name: crab
    spectral:
      type: PowerLawSpectralModel
      parameters: {{index: 2.5, amplitude: 3e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}
estimators:
  flux_points: {{energy_edges: [1 TeV, 3 TeV, 10 TeV]}}
outputs: {{dir: results}}
"""


def _write(tmp_path, text, name="analysis.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "data: {ogip: [a.fits], color: red}\nmodels: m.yaml\n",
            ["data.color", "unknown key", "allowed keys: ogip"],
        ),
        ("data: {ogip: a.fits}\nmodels: m.yaml\n", ["data.ogip", "list"]),
        ("data: {}\nmodels: m.yaml\nfit: {method: newton}\n", ["fit.method", "'mle' or 'bayes'"]),
        (
            "data: {}\nmodels: m.yaml\nestimators: {flux_points: {energy_edges: 3}}\n",
            ["estimators.flux_points.energy_edges"],
        ),
        ("models: m.yaml\n", ["data", "Field required"]),
        ("- 1\n", ["mapping"]),
    ],
)
def test_invalid_configs_name_key_path(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message


def test_cli_run_reports_config_errors(tmp_path, capsys):
    path = _write(tmp_path, "data: {ogip: [a.fits], colour: red}\nmodels: m.yaml\n")
    assert main(["run", str(path)]) == 1
    assert "data.colour: unknown key" in capsys.readouterr().err


def test_unknown_spectral_model_lists_allowed(tmp_path):
    from fluxfit.cli.run import build_models

    path = _write(tmp_path, "data: {}\nmodels: [{name: a, spectral: {type: Foo}}]\n")
    with pytest.raises(FormatError, match=r"models\.0\.spectral\.type.*PowerLawSpectralModel"):
        build_models(load_config(path), tmp_path)


@pytest.mark.skipif(not HESS.is_dir(), reason=f"H.E.S.S. OGIP spectra not found at {HESS}")
def test_run_ogip_matches_api(tmp_path):
    from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
    from fluxfit.fit import Fit
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

    files = [HESS / f"pha_obs{n}.fits" for n in (23523, 23526)]
    path = _write(tmp_path, OGIP.format(a=files[0], b=files[1]))
    assert main(["run", str(path), "--quiet"]) == 0
    out = tmp_path / "results"
    import json

    summary = json.loads((out / "fit.json").read_text())
    assert summary["fit"]["success"]
    values = {p["name"]: p["value"] for p in summary["parameters"]}

    datasets = Datasets([SpectrumDatasetOnOff.read(f) for f in files])
    spectral = PowerLawSpectralModel(
        index=2.5, amplitude=3e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV
    )
    datasets.models = Models([SkyModel(spectral_model=spectral, name="crab")])
    Fit().run(datasets)
    assert values["index"] == pytest.approx(spectral.index.value, rel=1e-6)
    assert values["amplitude"] == pytest.approx(spectral.amplitude.value, rel=1e-6)
    assert (out / "flux_points.fits").is_file() and (out / "report.html").is_file()


@pytest.mark.skipif(not DL3.is_dir(), reason=f"H.E.S.S. DL3 DR1 not found at {DL3}")
def test_run_seed003_matches_api(tmp_path):
    from astropy.coordinates import Angle, SkyCoord
    from regions import CircleSkyRegion

    from fluxfit.cli.run import _time_intervals
    from fluxfit.data import DataStore
    from fluxfit.estimators import TimeResolvedSpectroscopyEstimator
    from fluxfit.makers import (
        ReflectedRegionsBackgroundMaker,
        SafeMaskMaker,
        SpectrumDatasetMaker,
        SpectrumReduction,
    )
    from fluxfit.maps import MapAxis, RegionGeom
    from fluxfit.models import PowerLawSpectralModel, SkyModel

    path = _write(tmp_path, SEED003.format(path=DL3))
    config = load_config(path)
    assert main(["run", str(path), "--quiet"]) == 0
    table = Table.read(tmp_path / "results" / "time_resolved.ecsv")

    # the same analysis with the Python API (examples/seed_003_time_resolved.py)
    target = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")
    store = DataStore.from_dir(DL3)
    selection = dict(
        type="sky_circle", frame="icrs", lon=target.ra, lat=target.dec, radius=2 * u.deg
    )
    observations = store.get_observations(store.obs_table.select_observations(selection)["OBS_ID"])
    intervals = _time_intervals(config.data.dl3.time_intervals)
    pieces = observations.select_time(intervals)
    geom = RegionGeom.create(
        region=CircleSkyRegion(center=target, radius=Angle("0.11 deg")),
        axes=[MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)],
    )
    datasets = SpectrumReduction(
        geom,
        MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true"),
        dataset_maker=SpectrumDatasetMaker(
            containment_correction=True, selection=["counts", "exposure", "edisp"]
        ),
        background_maker=ReflectedRegionsBackgroundMaker(),
        safe_mask_maker=SafeMaskMaker(methods=["aeff-max"], aeff_percent=10),
    ).run(pieces)
    model = SkyModel(
        spectral_model=PowerLawSpectralModel(
            index=3.0, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV
        ),
        name="pks2155",
    )
    expected = (
        TimeResolvedSpectroscopyEstimator(intervals, model, energy_range=[1, 10] * u.TeV)
        .run(datasets)
        .table
    )
    assert len(table) == len(expected) == 24
    for column in ("index", "index_err", "amplitude", "amplitude_err", "flux", "flux_err"):
        np.testing.assert_allclose(
            np.asarray(table[column], float), np.asarray(expected[column], float), rtol=1e-6
        )
    assert (tmp_path / "results" / "report.html").is_file()
