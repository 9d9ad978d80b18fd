"""FluxPointsDataset: Gammapy 2.1's chi2 on the HAWC Crab points, batches, masks, statistics."""

from __future__ import annotations

import json

import astropy.units as u
import numpy as np
import pytest
from scipy.special import erfc

from fluxfit.datasets.core import Datasets
from fluxfit.datasets.flux_points import FluxPoints
from fluxfit.datasets.flux_points_dataset import FluxPointsDataset
from fluxfit.errors import DatasetError, OverwriteError
from fluxfit.maps import MapAxis
from fluxfit.models import LogParabolaSpectralModel, Models, PowerLawSpectralModel, SkyModel

DNDE = u.Unit("cm-2 s-1 TeV-1")


@pytest.fixture
def hawc(data_dir):
    path = data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return FluxPoints.read(path)


@pytest.fixture
def fermi_models(data_dir):
    path = data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return Models.read(path)


@pytest.fixture
def wf2(reference_dir):
    return json.loads((reference_dir / "gammapy/wf2_joint_crab.json").read_text())


@pytest.fixture
def wf6(reference_dir):
    return json.loads((reference_dir / "gammapy/wf6_hess_hawc_joint.json").read_text())


def _set(model, params: dict):
    for name, entry in params.items():
        getattr(model, name).value = entry["value"] if isinstance(entry, dict) else entry


def _likelihood_points(n_scan=21):
    """Likelihood flux points with parabolic profiles around the measured norms."""
    axis = MapAxis.from_energy_edges(np.geomspace(1, 100, 5) * u.TeV)
    ref = PowerLawSpectralModel(index=2.5, amplitude="1e-12 cm-2 s-1 TeV-1")
    norm = np.array([1.1, 0.9, 1.3, 0.6])
    err = np.array([0.05, 0.08, 0.2, 0.3])
    scan = np.linspace(0.0, 3.0, n_scan)
    stat_best = np.array([2.0, -1.0, 0.5, 3.0])
    stat_scan = ((scan[None, :] - norm[:, None]) / err[:, None]) ** 2 + stat_best[:, None]
    data = {
        "norm": norm,
        "norm_err": err,
        "norm_errn": 0.9 * err,
        "norm_errp": 1.1 * err,
        "norm_ul": norm + 2 * err,
        "ts": np.array([400.0, 100.0, 30.0, 3.0]),
        "stat": stat_best,
        "stat_scan": stat_scan,
        "norm_scan": scan,
    }
    return FluxPoints(data, axis, reference_model=ref, sed_type="likelihood")


# ---------------------------------------------------------------- Gammapy reference numbers
def test_hawc_stat_at_start_values(hawc, fermi_models, wf2):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    expected = wf2["stat_at_start_values"]["HAWC"]
    assert expected == 168.27788091848637
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-12)
    # only the crab model contributes (the Fermi background model has no spatial model)
    assert len(dataset._spectral_models) == 1
    # the upper limit (last point) is not in the chi2
    assert dataset.mask.tolist() == [True] * 9 + [False]


@pytest.mark.parametrize("entry", ["hawc_only_fit", "hawc_only_fit_ncall20000", "joint_fit"])
def test_hawc_stat_at_gammapy_best_fits(hawc, fermi_models, wf2, entry):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    _set(dataset.models["Crab Nebula"].spectral_model, wf2[entry]["crab_spectral_params"])
    expected = wf2[entry]["stat_per_dataset"]["HAWC"]
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-10)


def test_hawc_stat_wf6(hawc, wf6):
    model = LogParabolaSpectralModel(
        amplitude="3.5e-11 cm-2 s-1 TeV-1", reference="1 TeV", alpha=2.5, beta=0.1
    )
    dataset = FluxPointsDataset(SkyModel(model, name="Crab Nebula"), hawc, name="HAWC")
    assert dataset.stat_sum() == pytest.approx(wf6["stat_at_start_values"]["HAWC"], rel=1e-12)
    _set(model, wf6["joint_fit"]["params"])
    assert dataset.stat_sum() == pytest.approx(
        wf6["joint_fit"]["stat_per_dataset"]["HAWC"], rel=1e-10
    )


def test_hawc_stat_matches_hand_computation(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    model = dataset.models["Crab Nebula"].spectral_model
    e_ref = hawc.energy_ref.to_value("TeV")[:9]
    expected = np.sum(
        ((hawc.dnde.value[:9] - model(e_ref * u.TeV).to_value(DNDE)) / hawc.dnde_err.value[:9]) ** 2
    )
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-13)
    assert np.nansum(dataset.stat_array()) == pytest.approx(expected, rel=1e-13)


def test_gammapy_written_dataset(reference_dir, fermi_models, wf2):
    path = reference_dir / "gammapy/wf2_roundtrip/HAWC.fits"
    dataset = FluxPointsDataset.read(path, name="HAWC")
    assert dataset.mask_safe.tolist() == [True] * 9 + [False]
    assert dataset.mask_fit.tolist() == [True] * 9 + [False]
    dataset.models = fermi_models
    expected = wf2["roundtrip"]["stat_per_dataset_initial_roundtrip"]["HAWC"]
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-12)


def test_hawc_fit_reaches_gammapy_minimum(hawc, fermi_models, wf2):
    from fluxfit.fit import Fit

    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    result = Fit().run([dataset])
    best = wf2["hawc_only_fit_ncall20000"]["fit"]["total_stat"]
    assert result.total_stat <= best + 1e-3
    assert result.total_stat == pytest.approx(dataset.stat_sum(), rel=1e-12)


# --------------------------------------------------------------------------- batches
@pytest.mark.parametrize("stat_type", ["chi2", "distrib", "profile"])
def test_batch_equals_loop(stat_type):
    fp = _likelihood_points()
    model = PowerLawSpectralModel(index=2.4, amplitude="1.1e-12 cm-2 s-1 TeV-1")
    dataset = FluxPointsDataset(SkyModel(model, name="src"), fp, name="fp", stat_type=stat_type)
    rng = np.random.default_rng(3)
    index = rng.uniform(2.2, 2.8, 7)
    amplitude = rng.uniform(0.7e-12, 1.5e-12, 7)
    overrides = {
        model.index: index.reshape(-1, 1),
        model.amplitude: amplitude.reshape(-1, 1),
    }
    batch = dataset.stat_sum_batch(overrides)
    loop = []
    for i, a in zip(index, amplitude):
        model.index.value, model.amplitude.value = i, a
        loop.append(dataset.stat_sum())
    assert batch.shape == (7,)
    assert np.allclose(batch, loop, rtol=1e-12, atol=0)
    # Datasets sums the same
    assert np.allclose(Datasets([dataset]).stat_sum_batch(overrides), loop, rtol=1e-12, atol=0)


def test_batch_hawc(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    model = dataset.models["Crab Nebula"].spectral_model
    alphas = np.array([1.2, 1.3, 1.65])
    batch = dataset.stat_sum_batch({model.alpha: alphas.reshape(-1, 1)})
    loop = []
    for alpha in alphas:
        model.alpha.value = alpha
        loop.append(dataset.stat_sum())
    assert np.allclose(batch, loop, rtol=1e-13, atol=0)


# ------------------------------------------------------------------------ statistics
def test_chi2_uses_mean_of_asymmetric_errors():
    axis = MapAxis.from_energy_edges([1, 3, 10] * u.TeV)
    fp = FluxPoints(
        {"dnde": [1e-12, 1e-13], "dnde_errn": [1e-13, 2e-14], "dnde_errp": [3e-13, 4e-14]}, axis
    )
    model = PowerLawSpectralModel(index=2, amplitude="1e-12 cm-2 s-1 TeV-1")
    dataset = FluxPointsDataset(SkyModel(model, name="m"), fp, name="d")
    pred = model(fp.energy_ref).to_value(DNDE)
    sigma = np.array([2e-13, 3e-14])
    expected = np.sum(((np.array([1e-12, 1e-13]) - pred) / sigma) ** 2)
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-13)


def test_distrib_includes_upper_limits(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC", stat_type="distrib")
    assert dataset.mask.all()
    chi2_part = FluxPointsDataset(fermi_models, hawc, name="H2").stat_sum()
    model = dataset.models["Crab Nebula"].spectral_model
    e_ul = hawc.energy_ref[-1]
    mu = model(e_ul).to_value(DNDE)
    ul = hawc.dnde_ul[-1].to_value(DNDE)
    # Gammapy's term: 2 ln[(erfc((ul - mu) / ul) / 2) / (erfc(ul / ul) / 2)]
    ul_term = 2 * np.log(erfc((ul - mu) / ul) / erfc(1.0))
    assert dataset.stat_array()[-1] == pytest.approx(ul_term, rel=1e-10)
    # HAWC has symmetric errors only: the points contribute the plain chi2
    assert dataset.stat_sum() == pytest.approx(chi2_part + ul_term, rel=1e-12)


def test_distrib_asymmetric_errors():
    fp = _likelihood_points()
    model = PowerLawSpectralModel(index=2.5, amplitude="1e-12 cm-2 s-1 TeV-1")
    dataset = FluxPointsDataset(SkyModel(model, name="m"), fp, name="d", stat_type="distrib")
    pred = model(fp.energy_ref).to_value(DNDE)
    data = fp.dnde.to_value(DNDE)
    scale = np.where(pred >= data, fp.dnde_errp.value, fp.dnde_errn.value)
    chi = ((pred - data) / scale) ** 2
    # points with sqrt(TS) < 2 are upper limits: the last one
    assert fp.is_ul.tolist() == [False, False, False, True]
    ul = fp.dnde_ul.value[-1]
    ul_term = 2 * np.log(erfc((ul - pred[-1]) / ul) / erfc(1.0))
    assert dataset.stat_sum() == pytest.approx(chi[:3].sum() + ul_term, rel=1e-12)


def test_profile_statistic_equals_chi2_for_parabolic_profiles():
    fp = _likelihood_points()
    model = PowerLawSpectralModel(index=2.45, amplitude="1.05e-12 cm-2 s-1 TeV-1")
    dataset = FluxPointsDataset(SkyModel(model, name="m"), fp, name="d", stat_type="profile")
    norm_model = model(fp.energy_ref).to_value(DNDE) / fp.dnde_ref.to_value(DNDE)
    expected = np.sum(((norm_model - fp.norm) / fp.norm_err) ** 2)
    # quadratic interpolation of a parabola is exact; upper limits are included
    assert dataset.mask.all()
    assert dataset.stat_sum() == pytest.approx(expected, rel=1e-9)
    lin = FluxPointsDataset(
        SkyModel(model, name="m2"),
        fp,
        name="d2",
        stat_type="profile",
        stat_kwargs={"interp_scale": "lin"},
    )
    # linear interpolation of a convex profile lies above it (coarse scan: 0.15 in norm)
    assert expected < lin.stat_sum() < 1.25 * expected


def test_stat_type_errors(hawc):
    with pytest.raises(DatasetError, match="stat_type"):
        FluxPointsDataset(data=hawc, name="x", stat_type="cash")
    with pytest.raises(DatasetError, match="stat_scan"):
        FluxPointsDataset(data=hawc, name="x", stat_type="profile")
    with pytest.raises(DatasetError, match="FluxPoints"):
        FluxPointsDataset(data=None, name="x")


def test_invalid_errors_are_reported():
    axis = MapAxis.from_energy_edges([1, 3, 10] * u.TeV)
    fp = FluxPoints({"dnde": [1e-12, 1e-13], "dnde_err": [1e-13, 0.0]}, axis)
    dataset = FluxPointsDataset(SkyModel(PowerLawSpectralModel(), name="m"), fp, name="d")
    with pytest.raises(DatasetError, match=r"dnde_err = 0\.0 at E = 5\.47"):
        dataset.stat_sum()
    dataset.mask_safe = [True, False]
    assert np.isfinite(dataset.stat_sum())


# ----------------------------------------------------------------------------- masks
def test_masks(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    full = dataset.stat_sum()
    per_point = dataset.stat_array()
    mask_fit = np.ones(10, bool)
    mask_fit[0] = False
    dataset.mask_fit = mask_fit
    assert dataset.stat_sum() == pytest.approx(full - per_point[0], rel=1e-12)
    # Gammapy's (n, 1, 1) mask shape is accepted
    dataset.mask_safe = np.ones((10, 1, 1), bool)
    assert dataset.mask.sum() == 8
    with pytest.raises(DatasetError, match="shape"):
        dataset.mask_fit = np.ones(3, bool)
    dataset.mask_fit = None
    assert dataset.stat_sum() == pytest.approx(full, rel=1e-14)


def test_residuals_and_flux_pred(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    pred = dataset.flux_pred()
    assert pred.unit == DNDE and pred.shape == (10,)
    diff = dataset.residuals()
    assert np.isnan(diff[-1])
    assert np.allclose(diff.value[:9], hawc.dnde.value[:9] - pred.value[:9], rtol=1e-14, atol=0)
    ratio = dataset.residuals("diff/model")
    assert np.allclose(ratio[:9], diff.value[:9] / pred.value[:9], rtol=1e-14, atol=0)
    with pytest.raises(DatasetError, match="method"):
        dataset.residuals("pull")


def test_info_and_str(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    info = dataset.info_dict()
    assert info["n_points"] == 10 and info["n_fit_points"] == 9 and info["n_upper_limits"] == 1
    assert info["stat_sum"] == pytest.approx(168.27788091848637, rel=1e-12)
    assert info["n_free_parameters"] == 3
    assert "Fit statistic value (-2 log(L)) : 168.28" in str(dataset)
    assert dataset.info_table()["name"][0] == "HAWC"
    no_model = FluxPointsDataset(data=hawc, name="empty")
    assert np.isnan(no_model.info_dict()["stat_sum"])
    assert len(no_model.name) > 0
    assert len(FluxPointsDataset(data=hawc).name) == 8


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_dataset_write_read(hawc, fermi_models, tmp_path, suffix):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    mask_fit = np.ones(10, bool)
    mask_fit[2] = False
    dataset.mask_fit = mask_fit
    path = tmp_path / f"hawc{suffix}"
    dataset.write(path)
    with pytest.raises(OverwriteError):
        dataset.write(path)
    back = FluxPointsDataset.read(path, name="HAWC2")
    assert back.mask_fit.tolist() == mask_fit.tolist()
    back.models = fermi_models
    assert back.stat_sum() == pytest.approx(dataset.stat_sum(), rel=1e-14)
    entry = back.to_dict(filename=path)
    again = FluxPointsDataset.from_dict(entry)
    assert again.name == "HAWC2"


def test_copy(hawc, fermi_models):
    dataset = FluxPointsDataset(fermi_models, hawc, name="HAWC")
    other = dataset.copy(name="HAWC-copy")
    assert other.name == "HAWC-copy"
    assert other.stat_sum() == dataset.stat_sum()
