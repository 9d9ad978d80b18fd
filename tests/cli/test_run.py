"""`fluxfit run analysis.yaml`: validation messages, an OGIP fit, the seed-003 analysis."""

import os
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from fluxfit.cli.main import main
from fluxfit.errors import FluxfitError, FormatError

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


# ------------------------------------------------------------------ options of issue 10
BAYES = """
title: Crab, two H.E.S.S. runs, Bayesian
data:
  ogip: [{a}, {b}]
models:
  - name: crab
    spectral:
      type: PowerLawSpectralModel
      parameters: {{index: 2.5, amplitude: 3e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}
      priors:
        index: {{type: GaussianPrior, mu: 2.5, sigma: 1.0}}
        amplitude: {{type: LogUniformPrior, min: 1e-13, max: 1e-9}}
fit:
  method: bayes
  sampler: {sampler}
  sampler_options: {options}
  seed: 1
outputs: {{dir: results, report: {report}}}
"""

LIGHTCURVE = """
title: PKS 2155-304 light curve and flux points
data:
  dl3:
    path: {path}
    selection: {{type: sky_circle, frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg,
                radius: 2 deg}}
    time_intervals: {{start: "2006-07-29T20:30", duration: 30 min, n_intervals: 4}}
reduction:
  on_region: {{frame: icrs, lon: 329.71693826 deg, lat: -30.2255890 deg, radius: 0.11 deg}}
  energy_axis: {{min: 0.4 TeV, max: 20 TeV, nbin: 10}}
  energy_axis_true: {{min: 0.1 TeV, max: 40 TeV, nbin: 20}}
models:
  - name: pks2155
    spectral:
      type: PowerLawSpectralModel
      parameters: {{index: 3.0, amplitude: 2e-11 cm-2 s-1 TeV-1, reference: 1 TeV}}
estimators:
  flux_points:
    energy_edges: [0.5 TeV, 1 TeV, 2 TeV, 5 TeV]
    selection_optional: [errn-errp, ul]
    n_sigma_ul: 3
  lightcurve:
    energy_range: [1 TeV, 10 TeV]
    selection_optional: [ul]
outputs: {{dir: results, report: false}}
"""


def _hess_files():
    return [HESS / f"pha_obs{n}.fits" for n in (23523, 23526)]


def _check_bayes_folder(out, sampler):
    import json

    from fluxfit.results import AnalysisResults

    summary = json.loads((out / "fit.json").read_text())
    assert summary["fit"]["success"]
    assert {p["name"] for p in summary["parameters"] if not p["frozen"]} == {"index", "amplitude"}
    results = AnalysisResults.read(out / "bayes_results.fits")
    assert results.meta["sampler"] == sampler
    assert results.samples.shape[1] == 2
    medians = dict(zip(results.parameter_names, results.median))
    index = next(v for k, v in medians.items() if k.endswith("index"))
    # the Crab's index on these two runs is 2.6-2.7 (Gammapy: 2.64 +- 0.07 stacked)
    assert 2.3 < index < 3.0
    assert (out / "models.yaml").is_file() or any(out.glob("*.yaml"))


@pytest.mark.skipif(not HESS.is_dir(), reason=f"H.E.S.S. OGIP spectra not found at {HESS}")
def test_run_bayes_emcee(tmp_path):
    pytest.importorskip("emcee")
    a, b = _hess_files()
    options = "{n_walkers: 8, n_iterations: 60, n_burn_in: 20}"
    text = BAYES.format(a=a, b=b, sampler="emcee", options=options, report="true")
    path = _write(tmp_path, text)
    assert main(["run", str(path), "--quiet"]) == 0
    out = tmp_path / "results"
    _check_bayes_folder(out, "emcee")
    from fluxfit.results import AnalysisResults

    results = AnalysisResults.read(out / "bayes_results.fits")
    assert results.samples.shape == (8 * 60, 2)  # walkers x steps after burn-in
    assert (out / "report.html").is_file()
    assert (out / "figures" / "corner.png").is_file()


@pytest.mark.skipif(not HESS.is_dir(), reason=f"H.E.S.S. OGIP spectra not found at {HESS}")
def test_run_bayes_ultranest(tmp_path):
    pytest.importorskip("ultranest", reason="ultranest is not installed in this environment")
    a, b = _hess_files()
    options = "{min_num_live_points: 50, dlogz: 2.0}"
    text = BAYES.format(a=a, b=b, sampler="ultranest", options=options, report="false")
    path = _write(tmp_path, text)
    assert main(["run", str(path), "--quiet"]) == 0
    _check_bayes_folder(tmp_path / "results", "ultranest")


@pytest.mark.skipif(not HESS.is_dir(), reason=f"H.E.S.S. OGIP spectra not found at {HESS}")
def test_run_bayes_unknown_sampler_option_names_key(tmp_path, capsys):
    pytest.importorskip("emcee")
    a, b = _hess_files()
    text = BAYES.format(a=a, b=b, sampler="emcee", options="{n_steps: 5}", report="false")
    path = _write(tmp_path, text)
    assert main(["run", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "fit.sampler_options" in err and "n_steps" in err


def test_priors_validated(tmp_path):
    from fluxfit.cli.run import build_models

    text = (
        "data: {}\nmodels: [{name: a, spectral: {type: PowerLawSpectralModel, "
        "priors: {index: {type: CauchyPrior, mu: 1}}}}]\n"
    )
    with pytest.raises(FormatError, match=r"models\.0\.spectral\.priors\.index\.type"):
        load_config(_write(tmp_path, text))
    text = (
        "data: {}\nmodels: [{name: a, spectral: {type: PowerLawSpectralModel, "
        "priors: {gamma: {type: GaussianPrior, mu: 1, sigma: 1}}}}]\n"
    )
    with pytest.raises(FormatError, match=r"priors: unknown parameter.*gamma.*index"):
        build_models(load_config(_write(tmp_path, text, "b.yaml")), tmp_path)
    text = (
        "data: {}\nmodels: [{name: a, spectral: {type: PowerLawSpectralModel, "
        "priors: {index: {type: GaussianPrior, mu: 2}}}}]\n"
    )
    with pytest.raises(FluxfitError, match=r"models\.0\.spectral\.priors\.index"):
        build_models(load_config(_write(tmp_path, text, "c.yaml")), tmp_path)


@pytest.mark.skipif(not DL3.is_dir(), reason=f"H.E.S.S. DL3 DR1 not found at {DL3}")
def test_run_lightcurve_and_flux_points(tmp_path):
    import json

    from fluxfit.datasets import FluxPoints

    path = _write(tmp_path, LIGHTCURVE.format(path=DL3))
    assert main(["run", str(path), "--quiet"]) == 0
    out = tmp_path / "results"
    summary = json.loads((out / "fit.json").read_text())
    assert summary["fit"]["success"]
    assert len(summary["datasets"]) == 8  # the runs of the first 2 h cut at the 30-min edges
    assert not (out / "report.html").exists()  # outputs.report: false

    points = FluxPoints.read(out / "flux_points.fits")
    assert points.energy_axis.nbin == 3
    table = points.to_table(sed_type="dnde")
    for column in ("dnde", "dnde_errn", "dnde_errp", "dnde_ul"):
        assert column in table.colnames, column
    assert np.all(np.isfinite(np.asarray(table["dnde"], float)))
    assert np.all(np.asarray(table["dnde_ul"], float) > np.asarray(table["dnde"], float))

    curve = FluxPoints.read(out / "lightcurve.fits", format="lightcurve")
    table = curve.to_table(sed_type="flux", format="lightcurve")
    assert len(table) == 4
    assert "flux_ul" in table.colnames
    flux = np.asarray(table["flux"], float).ravel()
    assert np.all(np.isfinite(flux)) and np.all(flux > 0)
    # PKS 2155-304's flare: 1-10 TeV flux of 3e-11 to 9e-11 cm-2 s-1 in the first two hours
    assert np.all((flux > 1e-11) & (flux < 2e-10))
