"""Joint H.E.S.S. (two runs stacked) + HAWC flux points fit against Gammapy 2.1.

Reference: ../shared/reference/gammapy/wf6_hess_hawc_joint.json. Tolerances: statistic
at the start values 1e-3 absolute (Gammapy integrates the model numerically), best-fit
values 1 %, errors 5 %, total statistic 0.01.
"""

import json

import astropy.units as u
import numpy as np
import pytest

from fluxfit.datasets import Datasets, FluxPoints, FluxPointsDataset, SpectrumDatasetOnOff
from fluxfit.fit import Fit
from fluxfit.models import LogParabolaSpectralModel, Models, SkyModel


@pytest.fixture(scope="module")
def wf6(reference_dir):
    return json.loads((reference_dir / "gammapy/wf6_hess_hawc_joint.json").read_text())


def hess_hawc(data_dir):
    hess_dir = data_dir / "gammapy-data/joint-crab/spectra/hess"
    runs = Datasets(
        [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
    )
    hess = runs.stack_reduce(name="HESS")
    hawc = FluxPointsDataset(
        data=FluxPoints.read(data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"),
        name="HAWC",
    )
    return Datasets([hess, hawc])


def crab_1tev():
    return SkyModel(
        LogParabolaSpectralModel(
            amplitude="3.5e-11 cm-2 s-1 TeV-1", reference=1 * u.TeV, alpha=2.5, beta=0.1
        ),
        name="Crab Nebula",
    )


def test_joint_fit_reference_1tev(data_dir, wf6):
    datasets = hess_hawc(data_dir)
    model = crab_1tev()
    datasets.models = Models([model])
    start = datasets.stat_sums()
    ref_start = wf6["stat_at_start_values"]
    assert start["HESS"] == pytest.approx(ref_start["HESS"], abs=1e-3)
    assert start["HAWC"] == pytest.approx(ref_start["HAWC"], rel=1e-9)
    result = Fit().run(datasets)
    assert result.success, result.message
    ref = wf6["joint_fit"]
    assert result.total_stat == pytest.approx(ref["total_stat"], abs=0.01)
    for name in ("amplitude", "alpha", "beta"):
        par = model.spectral_model.parameters[name]
        assert par.value == pytest.approx(ref["params"][name]["value"], rel=0.01), name
        assert par.error == pytest.approx(ref["params"][name]["error"], rel=0.05), name
    per_dataset = datasets.stat_sums()
    for name in ("HESS", "HAWC"):
        assert per_dataset[name] == pytest.approx(ref["stat_per_dataset"][name], abs=0.01)
    # covariance of the free parameters
    cov = np.array(ref["covariance_free"])
    labels = ["Crab Nebula.spectral." + n for n in ("amplitude", "alpha", "beta")]
    ours = result.models.parameters.get_subcovariance(labels)
    assert np.allclose(np.diag(ours), np.diag(cov), rtol=0.1)


def test_joint_fit_from_fermi_yaml_start(data_dir, wf6):
    """The Fermi YAML's start model (reference 50.5 MeV) reaches the same best fit."""
    datasets = hess_hawc(data_dir)
    models = Models.read(data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml")
    datasets.models = models
    result = Fit().run(datasets)
    assert result.success, result.message
    ref = wf6["joint_fit"]
    assert result.total_stat == pytest.approx(ref["total_stat"], abs=0.01)
    best = LogParabolaSpectralModel(
        amplitude=ref["params"]["amplitude"]["value"] * u.Unit("cm-2 s-1 TeV-1"),
        reference=1 * u.TeV,
        alpha=ref["params"]["alpha"]["value"],
        beta=ref["params"]["beta"]["value"],
    )
    energy = np.geomspace(1, 100, 9) * u.TeV
    ours = models["Crab Nebula"].spectral_model(energy)
    assert np.allclose(ours, best(energy), rtol=0.01)
