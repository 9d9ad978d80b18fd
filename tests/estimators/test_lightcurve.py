"""LightCurveEstimator on synthetic datasets with GTIs and a known flux variation.

The datasets are H.E.S.S.-like ON/OFF spectra (W-statistic) of 30-minute runs, 10 minutes
apart, simulated from a power law whose amplitude changes from run to run; some tests mix
in Cash spectra with a known background. No data files are needed.
"""

from __future__ import annotations

import itertools
import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.data import GTI
from fluxfit.datasets import (
    Datasets,
    FluxPoints,
    GoodTimeIntervals,
    SpectrumDataset,
    SpectrumDatasetOnOff,
)
from fluxfit.errors import DatasetError
from fluxfit.estimators import EstimatorError, FluxPointsEstimator, LightCurveEstimator
from fluxfit.estimators.lightcurve import gti_time_bounds
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

T0 = Time("2020-01-01T00:00:00", scale="tt")
RUN = 1800.0  # s
STEP = 2400.0  # run start to run start
EDGES = np.geomspace(0.5, 50, 21) * u.TeV
AMPLITUDE = 1e-11  # cm-2 s-1 TeV-1 at 1 TeV


def ogip_header(reference=T0):
    header = fits.Header()
    header["MJDREFI"] = int(reference.mjd)
    header["MJDREFF"] = reference.mjd - int(reference.mjd)
    header["TIMESYS"] = reference.scale.upper()
    header["TIMEUNIT"] = "s"
    return header


def truth_model(factor=1.0):
    return PowerLawSpectralModel(index=2.5, amplitude=f"{AMPLITUDE * factor} cm-2 s-1 TeV-1")


def make_runs(factors, seed=1, exposure=2e13, cash_every=0, first=0, prefix="run"):
    """One dataset per factor, run ``i`` from ``(first + i) * STEP`` for ``RUN`` seconds."""
    rng = np.random.default_rng(seed)
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(EDGES.size - 1))
    out = []
    for i, factor in enumerate(factors):
        start = (first + i) * STEP
        kwargs = dict(
            counts=np.zeros(20),
            exposure=np.full(20, exposure),
            edisp=edisp,
            name=f"{prefix}{first + i:02d}",
            livetime=RUN,
            gti=GoodTimeIntervals([start], [start + RUN], ogip_header()),
        )
        if cash_every and i % cash_every == 0:
            dataset = SpectrumDataset(background=np.full(20, 2.0), **kwargs)
        else:
            dataset = SpectrumDatasetOnOff(
                counts_off=np.zeros(20), acceptance=1, acceptance_off=5, **kwargs
            )
        dataset.models = Models([SkyModel(truth_model(factor), name="src")])
        if isinstance(dataset, SpectrumDatasetOnOff):
            dataset.fake(npred_background=np.full(20, 2.0), random_state=rng)
        else:
            dataset.fake(random_state=rng)
        out.append(dataset)
    datasets = Datasets(out)
    datasets.models = Models([SkyModel(truth_model(), name="src")])
    return datasets


def intervals(edges_s):
    """``Time([start, stop])`` pairs from interval edges in seconds after T0."""
    times = T0 + u.Quantity(edges_s, u.s)
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


FACTORS = 1 + 0.8 * np.sin(np.arange(16))


@pytest.fixture(scope="module")
def runs():
    return make_runs(FACTORS)


@pytest.fixture(scope="module")
def lightcurve(runs):
    estimator = LightCurveEstimator(
        energy_edges=[0.5, 5, 50] * u.TeV, source="src", selection_optional="all"
    )
    return estimator.run(runs)


# ---------------------------------------------------------------- physics
def test_recovers_flux_variation(lightcurve, runs):
    lc = lightcurve
    assert lc.axes.names == ["energy", "time"]
    assert lc.data_shape == (16, 2)
    # one bin per dataset: its GTI
    axis = lc.axes["time"]
    starts, stops = gti_time_bounds(runs[3].gti)
    assert abs((axis.time_min[3] - starts[0]).to_value(u.s)) < 1e-6
    assert abs((axis.time_max[3] - stops[0]).to_value(u.s)) < 1e-6
    assert lc.success.all()
    pulls = []
    for g in range(2):
        diff = lc.norm[:, g] - FACTORS
        error = np.where(diff > 0, lc.norm_errn[:, g], lc.norm_errp[:, g])
        pulls.append(diff / error)
    pulls = np.concatenate(pulls)
    assert np.all(np.abs(pulls) < 3.5)
    assert np.mean(pulls**2) < 2.0
    # the flux variation itself: strongly significant, tracked bin by bin
    assert np.corrcoef(lc.norm[:, 0], FACTORS)[0, 1] > 0.9
    assert np.all(lc.ts[:, 0] > 100)
    assert np.all(lc.norm_ul > lc.norm)
    assert lc.stat_scan.shape == (16, 2, 11)


def test_per_dataset_quantities(lightcurve, runs):
    lc = lightcurve
    assert lc.counts.shape == (16, 2, 16)
    for k in range(16):
        others = np.delete(np.arange(16), k)
        assert np.isnan(lc.counts[k][:, others]).all()  # Gammapy: NaN outside the bin
        assert lc.counts[k, :, k].sum() == pytest.approx(runs[k].counts.sum())
        assert np.isfinite(lc.npred[k, :, k]).all()


def test_equals_flux_points_of_selected_datasets(runs):
    """Three runs per interval: each bin is the FluxPointsEstimator on the runs inside."""
    edges = np.arange(0, 17, 3) * STEP - 60
    lc = LightCurveEstimator(
        energy_edges=[0.5, 5, 50] * u.TeV,
        time_intervals=intervals(edges),
        source="src",
        selection_optional="all",
    ).run(runs)
    assert lc.data_shape == (5, 2)
    for k, (t_min, t_max) in enumerate(zip(lc.axes["time"].time_min, lc.axes["time"].time_max)):
        selected = runs.select_time(t_min, t_max)  # the selection rule: Gammapy's
        assert selected.names == [f"run{3 * k + i:02d}" for i in range(3)]
        fp = FluxPointsEstimator(
            energy_edges=[0.5, 5, 50] * u.TeV, source="src", selection_optional="all"
        ).run(selected)
        for name in ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts", "stat"):
            assert getattr(lc, name)[k] == pytest.approx(getattr(fp, name), rel=1e-9), name
        assert lc.stat_scan[k] == pytest.approx(fp.stat_scan, rel=1e-9)
        columns = [runs.names.index(n) for n in selected.names]
        assert lc.counts[k][:, columns] == pytest.approx(fp.counts)


def test_dropped_intervals_are_logged(runs, caplog):
    """Intervals without data are dropped; a run straddling an interval edge is in none."""
    edges = [-2 * STEP, -STEP, 0, 3 * STEP - 60, 3.5 * STEP, 20 * STEP, 21 * STEP]
    estimator = LightCurveEstimator(
        energy_edges=[0.5, 50] * u.TeV, time_intervals=intervals(edges), source="src"
    )
    with caplog.at_level(logging.INFO, logger="fluxfit.estimators.lightcurve"):
        lc = estimator.run(runs)
    skipped = [r for r in caplog.records if "no dataset in the time interval" in r.message]
    # [-2, -1], [-1, 0] before the data, [3, 3.5] holds run03 only partly, [20, 21] after
    assert len(skipped) == 4
    assert lc.data_shape == (2, 1)
    # [0, 3 steps - 60 s]: runs 0-2; [3.5, 20 steps]: runs 4-15 (run03 straddles 3.5)
    assert np.isfinite(lc.counts[0, 0]).sum() == 3
    assert np.isfinite(lc.counts[1, 0]).sum() == 12
    assert np.isnan(lc.counts[:, 0, 3]).all()
    with pytest.raises(EstimatorError, match="no datasets in the time intervals"):
        LightCurveEstimator(
            energy_edges=[0.5, 50] * u.TeV, time_intervals=intervals([-3 * STEP, -STEP])
        ).run(runs)


def test_interval_scales_and_tolerance(runs):
    """Intervals in UTC select GTIs in TT (leap seconds handled); atol at the edges."""
    start, stop = gti_time_bounds(runs[0].gti)
    utc = Time([start[0].utc, stop[0].utc])
    lc = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, time_intervals=[utc]).run(runs)
    assert np.isfinite(lc.counts[0, 0]).sum() == 1
    assert lc.axes["time"].time_min[0].scale == "utc"
    shrunk = Time([utc[0] + 0.5 * u.ms, utc[1]])
    with pytest.raises(EstimatorError):
        LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, time_intervals=[shrunk]).run(runs)
    lc = LightCurveEstimator(
        energy_edges=[0.5, 50] * u.TeV, time_intervals=[shrunk], atol="1 ms"
    ).run(runs)
    assert np.isfinite(lc.counts[0, 0]).sum() == 1


def test_mixed_cash_and_wstat():
    datasets = make_runs(FACTORS[:6], cash_every=2)
    assert [d.stat_type for d in datasets] == ["cash", "wstat"] * 3
    lc = LightCurveEstimator(
        energy_edges=[0.5, 50] * u.TeV,
        time_intervals=intervals([0, 2 * STEP - 60, 4 * STEP - 60, 6 * STEP]),
        source="src",
        selection_optional=["ul"],
    ).run(datasets)
    for k in range(3):
        selected = Datasets(list(datasets)[2 * k : 2 * k + 2])
        fp = FluxPointsEstimator(
            energy_edges=[0.5, 50] * u.TeV, source="src", selection_optional=["ul"]
        ).run(selected)
        assert lc.norm[k] == pytest.approx(fp.norm, rel=1e-9)
        assert lc.norm_ul[k] == pytest.approx(fp.norm_ul, rel=1e-9)


def test_no_dataset_copies_on_the_fast_path(runs, monkeypatch):
    def forbidden(self, *args, **kwargs):
        raise AssertionError("a dataset was copied")

    monkeypatch.setattr(SpectrumDatasetOnOff, "copy", forbidden)
    monkeypatch.setattr(SpectrumDataset, "copy", forbidden)
    lc = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, selection_optional="all").run(runs)
    assert lc.success.all()


# ---------------------------------------------------------- general path
def with_second_source(datasets):
    other = SkyModel(
        PowerLawSpectralModel(index=2.0, amplitude="1e-13 cm-2 s-1 TeV-1"), name="other"
    )
    other.spectral_model.index.frozen = True
    models = Models([datasets.models["src"].copy(name="src"), other])
    datasets.models = models
    return datasets


def test_reoptimize_general_path(runs):
    datasets = with_second_source(make_runs(FACTORS[:6], seed=3))
    edges = intervals([0, 2 * STEP - 60, 4 * STEP - 60, 6 * STEP])
    kwargs = dict(
        energy_edges=[0.5, 50] * u.TeV,
        source="src",
        selection_optional=["ul"],
        reoptimize=True,
    )
    lc = LightCurveEstimator(time_intervals=edges, **kwargs).run(datasets)
    amplitude = datasets.models["other"].spectral_model.amplitude.value
    assert amplitude == 1e-13  # the datasets' models are untouched
    for k in range(3):
        selected = Datasets(list(datasets)[2 * k : 2 * k + 2])
        fp = FluxPointsEstimator(**kwargs).run(selected)
        for name in ("norm", "norm_err", "norm_ul", "ts", "stat"):
            assert getattr(lc, name)[k] == pytest.approx(getattr(fp, name), rel=1e-6), name
        assert np.isnan(np.delete(lc.counts[k, 0], [2 * k, 2 * k + 1])).all()
    parallel = LightCurveEstimator(
        time_intervals=edges, n_jobs=2, parallel_backend="multiprocessing", **kwargs
    ).run(datasets)
    assert parallel.norm == pytest.approx(lc.norm, rel=1e-9)
    assert parallel.norm_ul == pytest.approx(lc.norm_ul, rel=1e-9)


# ------------------------------------------------------------ time helpers
def test_gti_time_bounds_of_every_kind():
    start, stop = gti_time_bounds(GoodTimeIntervals([10.0, 50.0], [20.0, 70.0], ogip_header()))
    assert (start[1] - T0).to_value(u.s) == pytest.approx(50.0, abs=1e-6)
    assert (stop[1] - T0).to_value(u.s) == pytest.approx(70.0, abs=1e-6)
    gti = GTI([10.0, 50.0], [20.0, 70.0], reference_time=T0)
    start2, _ = gti_time_bounds(gti)
    assert np.abs((start2 - start).to_value(u.s)).max() < 1e-6
    table = Table({"START": [10.0, 50.0] * u.s, "STOP": [20.0, 70.0] * u.s})
    table.meta.update(ogip_header())
    start3, _ = gti_time_bounds(table)
    assert np.abs((start3 - start).to_value(u.s)).max() < 1e-6
    header = ogip_header()
    header["TIMEUNIT"] = "d"
    start4, _ = gti_time_bounds(GoodTimeIntervals([1.0], [2.0], header))
    assert (start4[0] - T0).to_value(u.d) == pytest.approx(1.0)
    # one GTI reader for the package (fluxfit.datasets.time): its errors are DatasetErrors
    with pytest.raises(DatasetError, match="MJDREFI"):
        gti_time_bounds(GoodTimeIntervals([1.0], [2.0]))


def test_datasets_without_time(runs, caplog):
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(20))
    kwargs = dict(counts=np.ones(20), exposure=np.full(20, 1e12), edisp=edisp)
    no_gti = SpectrumDataset(name="x", **kwargs)
    no_gti.models = runs.models
    estimator = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, source="src")
    with pytest.raises(EstimatorError, match="no GTI"):
        estimator.run(Datasets([runs[0], no_gti]))
    empty = SpectrumDataset(name="empty", gti=GoodTimeIntervals([], [], ogip_header()), **kwargs)
    datasets = Datasets([runs[0], runs[1], empty])
    datasets.models = runs.models
    with caplog.at_level(logging.WARNING):
        lc = estimator.run(datasets)
    assert "empty GTI" in caplog.text
    assert lc.data_shape == (2, 1)
    assert np.isnan(lc.counts[:, 0, 2]).all()
    assert len(datasets.select_time(T0, T0 + 1 * u.h)) == 1


def test_option_errors(runs):
    with pytest.raises(EstimatorError, match="overlap"):
        LightCurveEstimator(
            energy_edges=[0.5, 50] * u.TeV,
            time_intervals=[Time([T0, T0 + 2 * u.h]), Time([T0 + 1 * u.h, T0 + 3 * u.h])],
        ).run(runs)
    with pytest.raises(EstimatorError, match="end after"):
        LightCurveEstimator(time_intervals=[Time([T0 + 1 * u.h, T0])])
    with pytest.raises(EstimatorError, match="Time"):
        LightCurveEstimator(time_intervals=[1, 2])
    with pytest.raises(EstimatorError, match="atol"):
        LightCurveEstimator(atol="1 m")
    # (n, 2) Time and a TimeMapAxis are intervals too
    pairs = T0 + [[0, 1], [1, 2]] * u.h
    lc = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, time_intervals=pairs).run(runs)
    lc2 = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV, time_intervals=lc.axes["time"]).run(
        runs
    )
    assert lc2.norm == pytest.approx(lc.norm)


def test_overlapping_datasets_share_a_bin():
    """Without time_intervals, datasets whose spans overlap (two instruments) share a bin."""
    first = make_runs(FACTORS[:3], seed=5)
    second = make_runs(FACTORS[:3], seed=6, prefix="other")
    datasets = Datasets(list(first) + list(second))
    datasets.models = first.models
    lc = LightCurveEstimator(energy_edges=[0.5, 50] * u.TeV).run(datasets)
    assert lc.data_shape == (3, 1)
    assert np.isfinite(lc.counts[0, 0]).sum() == 2


# ------------------------------------------------------------ I/O, plots
@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
@pytest.mark.parametrize("sed_type", ["likelihood", "flux"])
def test_lightcurve_round_trip(lightcurve, tmp_path, suffix, sed_type):
    path = tmp_path / f"lc{suffix}"
    lightcurve.write(path, format="lightcurve", sed_type=sed_type, overwrite=True)
    back = FluxPoints.read(path, format="lightcurve", reference_model=lightcurve.reference_model)
    assert back.axes.names == ["energy", "time"]
    a, b = back.axes["time"], lightcurve.axes["time"]
    assert np.abs((a.time_min - b.time_min).to_value(u.s)).max() < 1e-3
    assert np.abs((a.time_max - b.time_max).to_value(u.s)).max() < 1e-3
    assert back.flux.to_value("cm-2 s-1") == pytest.approx(
        lightcurve.flux.to_value("cm-2 s-1"), rel=1e-6
    )
    assert back.flux_ul.to_value("cm-2 s-1") == pytest.approx(
        lightcurve.flux_ul.to_value("cm-2 s-1"), rel=1e-6
    )
    assert back.ts == pytest.approx(lightcurve.ts)
    assert np.array_equal(np.isnan(back.counts), np.isnan(lightcurve.counts))
    table = lightcurve.to_table(format="lightcurve", sed_type="flux")
    assert table.colnames[:4] == ["time_min", "time_max", "e_ref", "e_min"]


def test_plot_against_time(lightcurve, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for time_format in ("iso", "mjd"):
        fig, ax = plt.subplots()
        lightcurve.plot(ax=ax, sed_type="flux", axis_name="time", time_format=time_format)
        assert len(ax.get_legend_handles_labels()[1]) == 2  # one series per energy bin
        path = tmp_path / f"lc_{time_format}.png"
        fig.savefig(path)
        plt.close(fig)
        assert path.stat().st_size > 5000
