"""Plots of flux points, likelihood profiles, model curves and butterflies (Agg backend)."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from astropy.time import Time  # noqa: E402

from fluxfit.datasets.flux_points import FluxPoints  # noqa: E402
from fluxfit.datasets.flux_points_dataset import FluxPointsDataset  # noqa: E402
from fluxfit.errors import DatasetError, UnitError  # noqa: E402
from fluxfit.maps import MapAxis, TimeMapAxis  # noqa: E402
from fluxfit.models import (  # noqa: E402
    Models,
    PowerLawNormSpectralModel,
    PowerLawSpectralModel,
    SkyModel,
)
from fluxfit.plotting.sed import plot_flux_points, sed_axes_units  # noqa: E402
from fluxfit.plotting.spectral import plot_error, plot_spectrum  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def hawc(data_dir):
    path = data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"
    if not path.exists():
        pytest.skip(f"{path} not found")
    return FluxPoints.read(path)


def _likelihood_points():
    axis = MapAxis.from_energy_edges(np.geomspace(1, 100, 6) * u.TeV)
    norm = np.array([1.1, 0.9, 1.3, 0.6, 0.2])
    err = np.array([0.05, 0.08, 0.2, 0.3, 0.4])
    scan = np.linspace(0.05, 4.0, 30)
    stat_scan = ((scan[None, :] - norm[:, None]) / err[:, None]) ** 2
    data = {
        "norm": norm,
        "norm_err": err,
        "norm_ul": norm + 2 * err,
        "ts": np.array([400.0, 100.0, 30.0, 3.0, 0.3]),
        "stat": np.zeros(5),
        "stat_scan": stat_scan,
        "norm_scan": scan,
    }
    ref = PowerLawSpectralModel(index=2.5, amplitude="1e-12 cm-2 s-1 TeV-1")
    return FluxPoints(data, axis, reference_model=ref, sed_type="likelihood")


def _saved(fig, path):
    fig.savefig(path)
    assert path.exists() and path.stat().st_size > 1000
    return path


def test_plot_hawc_with_model(hawc, data_dir, tmp_path):
    models = Models.read(data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml")
    crab = models["Crab Nebula"].spectral_model
    fig, ax = plt.subplots()
    bounds = [0.01, 300] * u.TeV
    plot_spectrum(crab, ax=ax, energy_bounds=bounds, energy_power=2, label="model")
    plot_error(crab, ax=ax, energy_bounds=bounds, energy_power=2)
    hawc.plot(ax=ax, energy_power=2, label="HAWC")
    ax.legend()
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_ylabel() == "e2 * dnde [TeV / (s cm2)]"
    # the upper limit is drawn at dnde_ul * E^2, with an arrow
    container = ax.containers[-1]
    _, y = container.lines[0].get_data()
    e_ref = hawc.energy_ref.to_value("TeV")
    assert y[-1] == pytest.approx(hawc.dnde_ul[-1].value * e_ref[-1] ** 2, rel=1e-12)
    assert y[0] == pytest.approx(hawc.dnde[0].value * e_ref[0] ** 2, rel=1e-12)
    assert len(container.lines[1]) > 0  # caps: the upper-limit arrow
    # the model curve is in the same units
    line = ax.lines[0]
    energy = line.get_xdata()
    assert line.get_ydata()[0] == pytest.approx(
        crab(energy[0] * u.TeV).value * energy[0] ** 2, rel=1e-10
    )
    _saved(fig, tmp_path / "hawc.png")


@pytest.mark.parametrize("sed_type", ["dnde", "e2dnde", "flux", "eflux"])
def test_plot_sed_types(hawc, tmp_path, sed_type):
    fig, ax = plt.subplots()
    hawc.plot(ax=ax, sed_type=sed_type)
    assert ax.get_ylabel().startswith(sed_type)
    _saved(fig, tmp_path / f"{sed_type}.png")


def test_plot_ts_profiles(tmp_path):
    fp = _likelihood_points()
    fig, ax = plt.subplots()
    fp.plot_ts_profiles(ax=ax, sed_type="e2dnde")
    fp.plot(ax=ax, sed_type="e2dnde", color="darkorange")
    assert len(ax.collections) >= 1
    mesh = ax.collections[0]
    values = np.asarray(mesh.get_array())
    finite = values[np.isfinite(values)]
    assert finite.size and finite.max() <= 0 and finite.min() >= -4
    assert ax.get_ylabel() == "e2dnde [erg / (s cm2)]"
    _saved(fig, tmp_path / "profiles.png")


def test_plot_lightcurve(tmp_path):
    energy = MapAxis.from_energy_edges([1, 100] * u.TeV)
    t0 = Time([55000.0, 55001.0, 55003.5], format="mjd", scale="utc")
    t1 = Time([55000.5, 55002.0, 55004.0], format="mjd", scale="utc")
    time = TimeMapAxis.from_time_edges(t0, t1)
    data = {
        "norm": [[1.0], [1.4], [0.8]],
        "norm_err": [[0.1], [0.2], [0.1]],
        "norm_ul": [[1.2], [1.8], [1.0]],
        "ts": [[30.0], [2.0], [25.0]],
    }
    lc = FluxPoints(
        data, [energy, time], reference_model=PowerLawSpectralModel(), sed_type="likelihood"
    )
    for time_format in ("iso", "mjd"):
        fig, ax = plt.subplots()
        lc.plot(ax=ax, sed_type="flux", time_format=time_format)
        assert ax.get_ylabel() == "flux [1 / (s cm2)]"
        _saved(fig, tmp_path / f"lc_{time_format}.png")
    fig, ax = plt.subplots()
    lc.plot(ax=ax, sed_type="norm", axis_name="time", time_format="mjd")
    x, y = ax.containers[0].lines[0].get_data()
    assert np.allclose(x, [55000.25, 55001.5, 55003.75])
    assert y[1] == pytest.approx(1.8)  # the upper limit of the TS = 2 bin


def test_plot_dataset_fit(hawc, data_dir, tmp_path):
    models = Models.read(data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml")
    dataset = FluxPointsDataset(models, hawc, name="HAWC")
    ax_spectrum, ax_residuals = dataset.plot_fit()
    assert ax_residuals.get_ylabel().startswith("Residuals")
    _saved(ax_spectrum.figure, tmp_path / "fit.png")
    fig, ax = plt.subplots()
    dataset.plot_residuals(ax=ax, method="diff")
    _saved(fig, tmp_path / "residuals.png")


def test_plot_spectrum_options(tmp_path):
    model = PowerLawSpectralModel(index=2.3, amplitude="3e-11 cm-2 s-1 TeV-1")
    model.index.error = 0.1
    model.amplitude.error = 3e-12
    for sed_type in ("dnde", "e2dnde", "flux", "eflux"):
        fig, ax = plt.subplots()
        plot_spectrum(model, ax=ax, energy_bounds=[1, 100] * u.TeV, sed_type=sed_type, n_points=20)
        plot_error(model, ax=ax, energy_bounds=[1, 100] * u.TeV, sed_type=sed_type, n_points=20)
        assert len(ax.lines) == 1 and len(ax.collections) == 1
        _saved(fig, tmp_path / f"model_{sed_type}.png")
    # energy_range alias and a MapAxis as bounds
    fig, ax = plt.subplots()
    plot_spectrum(model, ax=ax, energy_range=[1, 10] * u.TeV)
    axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", nbin=5)
    plot_spectrum(model, ax=ax, energy_bounds=axis)
    assert len(ax.lines[1].get_xdata()) == 5
    # band width: linear propagation of the index and amplitude errors
    fig, ax = plt.subplots()
    plot_error(model, ax=ax, energy_bounds=[1, 100] * u.TeV, n_points=4)
    _, error = model.evaluate_error(ax.collections[0].get_paths()[0].vertices[1:2, 0] * u.TeV)
    assert np.all(np.isfinite(error))
    # a norm model is plotted dimensionless
    fig, ax = plt.subplots()
    plot_spectrum(PowerLawNormSpectralModel(tilt=0.2), ax=ax, energy_bounds=[1, 10] * u.TeV)
    assert ax.get_ylabel() == "norm"


def test_units_shared_on_axes(hawc):
    _, ax = plt.subplots()
    hawc.plot(ax=ax, sed_type="dnde")
    x_unit, y_unit = sed_axes_units(ax, "dnde", 0)
    assert y_unit == u.Unit("cm-2 s-1 TeV-1") and x_unit == u.TeV
    with pytest.raises(UnitError, match="cannot plot"):
        plot_flux_points(hawc, ax=ax, sed_type="e2dnde")
    model = SkyModel(PowerLawSpectralModel(), name="m").spectral_model
    plot_spectrum(model, ax=ax, energy_bounds=[1, 10] * u.TeV, energy_unit="GeV")
    # the axes keep the unit of their first plot (TeV), whatever energy_unit says later
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(10**0.005, rel=1e-12)


def test_plot_ts_profiles_along_other_axes(tmp_path):
    """Profiles along a distance axis (flux profiles) and a time axis (light curves)."""
    rng = np.random.default_rng(3)
    scan = np.linspace(0.2, 5, 11)
    energy = MapAxis.from_energy_edges([1, 10] * u.TeV)
    distance = MapAxis.from_edges(np.linspace(0, 2, 6) * u.deg, name="projected-distance")
    start = Time(55000 + np.array([0.0, 1.0, 3.0, 4.0]), format="mjd", scale="utc")
    times = TimeMapAxis.from_time_edges(start, start + 0.5 * u.d)
    for axis, label in ((distance, "Projected-distance"), (times, "Time [UTC]")):
        norm = rng.uniform(0.8, 1.2, (axis.nbin, 1))
        data = {
            "norm": norm,
            "norm_err": 0.1 * norm,
            "ts": np.full((axis.nbin, 1), 25.0),
            "stat": np.zeros((axis.nbin, 1)),
            "norm_scan": scan,
            "stat_scan": ((scan[None, None, :] - norm[..., None]) / 0.1) ** 2,
        }
        fp = FluxPoints(
            data, [energy, axis], reference_model=PowerLawSpectralModel(), sed_type="likelihood"
        )
        fig, ax = plt.subplots()
        fp.plot_ts_profiles(ax=ax, sed_type="flux")
        assert ax.get_xlabel().startswith(label)
        assert len(ax.collections) == (axis.nbin if axis.name == "time" else 1)
        _saved(fig, tmp_path / f"ts_{axis.name}.png")
    with pytest.raises(DatasetError, match="no axis"):
        fp.plot_ts_profiles(axis_name="nope")
    with pytest.raises(DatasetError, match="one bin on the other axes"):
        fp.plot_ts_profiles(axis_name="energy")
