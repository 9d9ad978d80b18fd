"""TimeResolvedSpectroscopyEstimator on simulated ON/OFF spectra with GTIs (no files needed)."""

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.datasets import Datasets, GoodTimeIntervals, SpectrumDatasetOnOff
from fluxfit.errors import (
    DatasetError,
    FitError,
    FluxfitError,
    MissingFileError,
    OverwriteError,
)
from fluxfit.estimators.time_resolved import (
    TimeResolvedSpectroscopyEstimator,
    TimeResolvedSpectroscopyResult,
    dataset_time_bounds,
    select_datasets_time,
)
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

T0 = Time("2020-03-01T00:00:00", scale="utc")
MJDREF = Time(58849, 0.0, format="mjd", scale="tt")  # 2020-01-01 TT
EDGES = np.geomspace(0.5, 50, 13) * u.TeV
INDICES = [2.0, 2.0, 2.6, 2.6, 3.2, 3.2]  # two datasets per interval, index changing


def gti_header():
    header = fits.Header()
    header["MJDREFI"], header["MJDREFF"], header["TIMESYS"] = 58849, 0.0, "TT"
    return header


def make_dataset(name, start, stop, index, rng, counts_scale=1.0):
    """An ON/OFF spectrum simulated from a power law, valid from ``start`` to ``stop`` (Time)."""
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(EDGES.size - 1))
    met = [(start - MJDREF).to_value(u.s), (stop - MJDREF).to_value(u.s)]
    gti = GoodTimeIntervals(start=[met[0]], stop=[met[1]], header=gti_header())
    livetime = met[1] - met[0]
    dataset = SpectrumDatasetOnOff(
        counts=np.zeros(EDGES.size - 1),
        counts_off=np.zeros(EDGES.size - 1),
        acceptance=1.0,
        acceptance_off=10.0,
        exposure=np.full(EDGES.size - 1, 1e9 * livetime * counts_scale),
        edisp=edisp,
        name=name,
        livetime=livetime,
        gti=gti,
    )
    truth = SkyModel(
        PowerLawSpectralModel(index=index, amplitude="1e-11 cm-2 s-1 TeV-1"), name="truth"
    )
    dataset.models = Models([truth])
    background = np.full(EDGES.size - 1, 2.0)
    dataset.fake(npred_background=background, random_state=rng)
    dataset.models = None
    return dataset


@pytest.fixture(scope="module")
def intervals():
    return [Time([T0 + k * u.h, T0 + (k + 1) * u.h]) for k in range(3)]


@pytest.fixture(scope="module")
def datasets(intervals):
    rng = np.random.default_rng(42)
    out = []
    for k, index in enumerate(INDICES):
        interval = intervals[k // 2]
        start = interval[0] + (k % 2) * 30 * u.min
        out.append(make_dataset(f"d{k}", start, start + 30 * u.min, index, rng))
    return Datasets(out)


def start_model(name="src"):
    return SkyModel(PowerLawSpectralModel(index=2.5, amplitude="5e-12 cm-2 s-1 TeV-1"), name=name)


def test_recovers_the_changing_index(datasets, intervals):
    model = start_model()
    estimator = TimeResolvedSpectroscopyEstimator(intervals, model, energy_range=[1, 10] * u.TeV)
    result = estimator.run(datasets)
    assert isinstance(result, TimeResolvedSpectroscopyResult)
    table = result.table
    assert len(result) == 3 and table["success"].all()
    assert table["n_datasets"].tolist() == [2, 2, 2]
    pulls = (table["index"] - [2.0, 2.6, 3.2]) / table["index_err"]
    assert np.all(np.abs(pulls) < 4)
    assert np.all(np.diff(table["index"]) > 0)
    # the given model is not changed; the datasets keep their (absent) models
    assert model.spectral_model.index.value == 2.5
    assert all(len(d.models) == 0 for d in datasets)
    assert [m[0].name for m in result.models] == ["src_bin_0", "src_bin_1", "src_bin_2"]
    # integral flux and its error from the fitted model
    fitted = result.models[0][0].spectral_model
    flux = fitted.integral(1 * u.TeV, 10 * u.TeV).to_value("cm-2 s-1")
    assert float(table["flux"][0]) == pytest.approx(float(np.ravel(flux)[0]), rel=1e-10)
    assert np.all(table["flux_err"] > 0)
    assert table.meta["energy_min"] == "1.0 TeV"
    for name in (
        "tstart",
        "tstop",
        "success",
        "index",
        "index_err",
        "amplitude",
        "amplitude_err",
        "stat",
        "npred",
        "counts",
        "flux",
        "flux_err",
    ):
        assert name in table.colnames
    assert table["counts"][0] == sum(d.counts.sum() for d in datasets[:2])


def test_table_round_trip(datasets, intervals, tmp_path):
    result = TimeResolvedSpectroscopyEstimator(intervals[:1], start_model()).run(datasets)
    path = tmp_path / "trs.ecsv"
    result.write(path)
    table = Table.read(path)
    assert table["tstart"][0].isot == intervals[0][0].isot
    assert table["amplitude"].unit == u.Unit("cm-2 s-1 TeV-1")
    assert result["index"][0] == table["index"][0]


def test_skips_intervals_and_masked_data(datasets, intervals, caplog):
    masked = datasets[4].copy(name="masked")
    masked.mask_safe = np.zeros(masked.n_channels, dtype=bool)
    late = [Time([T0 + 2 * u.h, T0 + 2.5 * u.h]), Time([T0 + 5 * u.h, T0 + 6 * u.h])]
    with caplog.at_level(logging.INFO, logger="fluxfit.estimators.time_resolved"):
        result = TimeResolvedSpectroscopyEstimator(late, start_model()).run(Datasets([masked]))
    assert len(result) == 0
    assert [reason for _, reason in result.skipped] == [
        "no fitted bin with live time in its datasets",
        "no dataset",
    ]
    assert caplog.text.count("Skipping interval") == 2
    # an empty result still has its columns
    assert "index" in result.table.colnames and "flux" in result.table.colnames


def test_empty_gti_is_in_no_interval(datasets, intervals):
    empty = datasets[0].copy(name="empty")
    empty.gti = GoodTimeIntervals(start=[], stop=[], header=gti_header())
    start, stop, _reference = dataset_time_bounds([empty, datasets[0]])
    assert np.isnan(start[0]) and np.isnan(stop[0]) and start[1] == 0.0
    assert len(select_datasets_time([empty], T0 - 1 * u.d, T0 + 1 * u.d)) == 0
    assert dataset_time_bounds([empty])[2] is None
    no_gti = datasets[0].copy(name="no-gti")
    no_gti.gti = None
    with pytest.raises(DatasetError, match="no GTI"):
        select_datasets_time([no_gti], T0, T0 + 1 * u.h)
    no_ref = datasets[0].copy(name="no-ref")
    no_ref.gti = GoodTimeIntervals(start=[0.0], stop=[1.0])
    with pytest.raises(DatasetError, match="MJDREFI"):
        select_datasets_time([no_ref], T0, T0 + 1 * u.h)


def test_select_time_tolerance(datasets, intervals):
    a, b = intervals[0]
    assert select_datasets_time(datasets, a, b).names == ["d0", "d1"]
    assert select_datasets_time(datasets, a + 0.5 * u.us, b).names == ["d0", "d1"]
    assert select_datasets_time(datasets, a + 5 * u.us, b).names == ["d1"]
    assert select_datasets_time(datasets, a, b, atol=10 * u.us).names == ["d0", "d1"]


class FailingFit:
    def run(self, datasets):
        raise FitError("the statistic is not finite at the start values")


def test_failed_fit_gives_a_row(datasets, intervals):
    result = TimeResolvedSpectroscopyEstimator(intervals[:2], start_model(), fit=FailingFit()).run(
        datasets
    )
    assert len(result) == 2
    assert not result.table["success"].any()
    assert np.isnan(result.table["index"]).all()
    assert "not finite" in result.table["message"][0]
    assert result.fit_results == [None, None]


def test_two_models_and_models_input(datasets, intervals):
    """Free parameters with the same name in two models get the model name as prefix."""
    models = Models([start_model("a"), start_model("b")])
    models["b"].spectral_model.index.frozen = True
    result = TimeResolvedSpectroscopyEstimator(intervals[:1], models).run(datasets)
    assert result.parameter_names == ["index", "a.amplitude", "b.amplitude"]
    assert "b.index" not in result.table.colnames and "a.amplitude_err" in result.table.colnames


def test_plots(datasets, intervals, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = TimeResolvedSpectroscopyEstimator(intervals, start_model()).run(datasets)
    axes = result.plot_parameters(filename=tmp_path / "pars.png", flux=False)
    assert len(axes) == 2 and (tmp_path / "pars.png").stat().st_size > 5000
    assert axes[-1].get_xlabel().startswith("Time since 2020-03-01T00:00:00 UTC")
    ax = result.plot_hysteresis(filename=tmp_path / "hyst.png")
    assert ax.get_xlabel().startswith("amplitude") and ax.get_ylabel() == "index"
    _fig, own = plt.subplots(3, 1)
    assert result.plot_parameters(axes=own) is not None
    with pytest.raises(FluxfitError, match="panels"):
        result.plot_parameters(axes=own[:2])
    plt.close("all")


def test_writers_refuse_to_overwrite(datasets, intervals, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = TimeResolvedSpectroscopyEstimator(intervals[:2], start_model()).run(datasets)
    paths = result.save_plots(tmp_path / "new", prefix="p")  # creates the folder
    stamps = [p.stat().st_mtime_ns for p in paths]
    with pytest.raises(OverwriteError, match=r"p_parameters\.png"):
        result.save_plots(tmp_path / "new", prefix="p")
    assert [p.stat().st_mtime_ns for p in paths] == stamps  # nothing rewritten
    assert result.save_plots(tmp_path / "new", prefix="p", overwrite=True) == paths
    with pytest.raises(OverwriteError, match=r"p_hysteresis\.png"):
        result.plot_hysteresis(filename=paths[1])
    with pytest.raises(OverwriteError, match=r"p_parameters\.png"):
        result.plot_parameters(filename=paths[0])
    result.plot_hysteresis(filename=paths[1], overwrite=True)
    table = tmp_path / "t.ecsv"
    result.write(table)
    with pytest.raises(OverwriteError, match=r"t\.ecsv"):
        result.write(table)
    result.write(table, overwrite=True)
    with pytest.raises(MissingFileError, match="nowhere"):
        result.write(tmp_path / "nowhere" / "t.ecsv")
    plt.close("all")


def test_input_validation(intervals):
    model = start_model()
    with pytest.raises(FluxfitError, match="energy_range"):
        TimeResolvedSpectroscopyEstimator(intervals, model, energy_range=[1] * u.TeV)
    with pytest.raises(FluxfitError, match="empty"):
        TimeResolvedSpectroscopyEstimator(intervals, model, energy_range=[10, 1] * u.TeV)
    with pytest.raises(FluxfitError, match="ends before"):
        TimeResolvedSpectroscopyEstimator([Time([T0 + 1 * u.h, T0])], model)
    with pytest.raises(FluxfitError, match="SkyModel or Models"):
        TimeResolvedSpectroscopyEstimator(intervals, "pks").run(Datasets([]))
    # a (n, 2) Time array and a single interval are accepted
    pairs = Time(
        [["2020-03-01T00:00", "2020-03-01T01:00"], ["2020-03-01T01:00", "2020-03-01T02:00"]]
    )
    assert len(TimeResolvedSpectroscopyEstimator(pairs, model).time_intervals) == 2
    assert len(TimeResolvedSpectroscopyEstimator(intervals[0], model).time_intervals) == 1
    assert "n_intervals=3" in repr(TimeResolvedSpectroscopyEstimator(intervals, model))


def test_time_map_axis_intervals(datasets, intervals):
    from fluxfit.maps import TimeMapAxis

    axis = TimeMapAxis.from_time_edges(
        Time([i[0] for i in intervals]), Time([i[1] for i in intervals])
    )
    estimator = TimeResolvedSpectroscopyEstimator(axis, start_model())
    assert len(estimator.time_intervals) == 3
    result = estimator.run(datasets)
    assert len(result) == 3


def test_docstring_examples():
    import doctest

    import fluxfit.estimators.time_resolved as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
