"""Seed 003 acceptance: H.E.S.S. DL3 -> 34 ON/OFF pieces -> power law fitted in 24 intervals.

The workflow of Gammapy's "time resolved spectroscopy" tutorial (PKS 2155-304 flare of
2006-07-29/30, H.E.S.S. DL3 DR1) run with fluxfit and compared with Gammapy 2.1's numbers in
../shared/reference/gammapy/wf3_time_resolved.json: the selection, the per-piece dataset
facts (``datasets``) and the per-interval fits (``trs_table``).
"""

import itertools
import json
import logging
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.estimators.time_resolved import (
    TimeResolvedSpectroscopyEstimator,
    select_datasets_time,
)
from fluxfit.maps import MapAxis, RegionGeom
from fluxfit.models import PowerLawSpectralModel, SkyModel

pytestmark = pytest.mark.data

PKS2155 = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")


def seed_intervals():
    times = Time("2006-07-29T20:30") + np.arange(25) * 15 * u.min
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


def seed_model():
    spectral = PowerLawSpectralModel(
        index=3.0, amplitude=2e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV
    )
    return SkyModel(spectral_model=spectral, name="pks2155")


@pytest.fixture(scope="module")
def reference(reference_dir):
    path = reference_dir / "gammapy" / "wf3_time_resolved.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def seed(data_dir):
    """Selection, time pieces and reduction of seed 003 (read once for the module)."""
    from fluxfit.data import DataStore
    from fluxfit.makers import make_spectrum_datasets

    path = data_dir / "gammapy-data" / "hess-dl3-dr1"
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    start = time.perf_counter()
    store = DataStore.from_dir(path)
    selection = dict(
        type="sky_circle", frame="icrs", lon=PKS2155.ra, lat=PKS2155.dec, radius=2 * u.deg
    )
    obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
    observations = store.get_observations(obs_ids)
    pieces = observations.select_time(seed_intervals())
    energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
    energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")
    on_region = CircleSkyRegion(center=PKS2155, radius=Angle("0.11 deg"))
    geom = RegionGeom.create(region=on_region, axes=[energy_axis])
    datasets = make_spectrum_datasets(pieces, geom, energy_axis_true)
    reduction_time = time.perf_counter() - start
    return {
        "obs_ids": [int(i) for i in obs_ids],
        "pieces": pieces,
        "datasets": datasets,
        "reduction_time": reduction_time,
    }


@pytest.fixture(scope="module")
def trs(seed):
    estimator = TimeResolvedSpectroscopyEstimator(
        seed_intervals(), seed_model(), energy_range=[1, 10] * u.TeV
    )
    start = time.perf_counter()
    result = estimator.run(seed["datasets"])
    return result, time.perf_counter() - start


def test_selection_and_pieces(seed, reference):
    assert len(seed["obs_ids"]) == 21
    assert seed["obs_ids"] == reference["selected_obs_ids"]
    assert len(seed["pieces"]) == reference["n_short_observations"] == 34
    assert len(seed["datasets"]) == reference["n_datasets"] == 34


def test_datasets_equal_reference(seed, reference):
    """Per dataset: counts, excess and livetime equal Gammapy's (and the time bounds)."""
    for dataset, ref in zip(seed["datasets"], reference["datasets"]):
        info = dataset.info_dict()
        assert dataset.name == ref["name"]
        assert info["counts"] == ref["counts"]
        assert info["excess"] == pytest.approx(ref["excess"], rel=1e-12, abs=1e-12)
        assert info["livetime"] == pytest.approx(ref["livetime"], rel=1e-9)
        assert info["counts_off"] == ref["counts_off"]
        assert int(dataset.mask_safe.sum()) == ref["n_safe_bins"]


def test_fits_match_reference(trs, reference, capsys, seed):
    """24 intervals; index and amplitude within 2 % (or 0.2 sigma) of Gammapy's, in fact 2e-3."""
    result, elapsed = trs
    rows = reference["trs_table"]
    table = result.table
    assert len(table) == reference["trs_n_valid_bins"] == 24
    assert len(result.skipped) == 0
    assert result.parameter_names == ["index", "amplitude"]
    for row, ref in zip(table, rows):
        assert row["tstart"].isot == ref["tstart"] and row["tstop"].isot == ref["tstop"]
        assert row["n_datasets"] == ref["n_datasets"]
        assert row["success"] and ref["success"]
        for name in ("index", "amplitude"):
            value, expected = float(row[name]), ref[name]
            sigma = ref[f"{name}_err"]
            assert abs(value - expected) <= max(0.02 * abs(expected), 0.2 * sigma)
            assert value == pytest.approx(expected, rel=2e-3)
            assert float(row[f"{name}_err"]) == pytest.approx(sigma, rel=1e-2)
        assert row["stat"] == pytest.approx(ref["total_stat"], abs=1e-3)
        assert float(row["flux"]) == pytest.approx(ref["flux_1_10TeV"], rel=2e-3)
    assert table["amplitude"].unit == u.Unit("cm-2 s-1 TeV-1")
    assert table["flux"].unit == u.Unit("cm-2 s-1")
    # first interval: the tutorial's integral flux 1-10 TeV and its error
    assert float(table["flux"][0]) == pytest.approx(3.39200283e-11, rel=1e-3)
    assert float(table["flux_err"][0]) == pytest.approx(4.59497703e-12, rel=1e-2)
    # npred and counts over the fitted bins; counts are the datasets' in the interval
    counts = {ref["name"]: ref["counts"] for ref in reference["datasets"]}
    first = select_datasets_time(seed["datasets"], *seed_intervals()[1])
    assert table["counts"][1] == sum(counts[d.name] for d in first)
    np.testing.assert_allclose(table["npred"], table["counts"], rtol=0.05)
    with capsys.disabled():
        print(
            f"\n[seed 003] reduction of 34 pieces (with file reads): {seed['reduction_time']:.2f} s; "
            f"24 interval fits: {elapsed:.2f} s"
        )
    assert elapsed < 10


def test_select_datasets_time_as_gammapy(seed, reference):
    intervals = seed_intervals()
    counts = [len(select_datasets_time(seed["datasets"], a, b)) for a, b in intervals]
    assert counts == [r["n_datasets"] for r in reference["trs_table"]]
    # an interval covering a piece only partly does not select it
    a, b = intervals[0]
    assert len(select_datasets_time(seed["datasets"], a + 1 * u.s, b)) == 0
    assert len(select_datasets_time(seed["datasets"], a - 1 * u.h, b + 10 * u.h)) == 34


def test_skips_intervals_without_data(seed, caplog):
    intervals = [Time(["2006-07-29T18:00", "2006-07-29T18:15"]), *seed_intervals()[:2]]
    estimator = TimeResolvedSpectroscopyEstimator(intervals, seed_model())
    with caplog.at_level(logging.INFO, logger="fluxfit.estimators.time_resolved"):
        result = estimator.run(seed["datasets"])
    assert len(result.table) == 2
    assert result.table["interval_index"].tolist() == [1, 2]
    assert len(result.skipped) == 1 and result.skipped[0][1] == "no dataset"
    assert "2006-07-29T18:00:00.000" in caplog.text and "Skipping interval" in caplog.text


def test_plots_written(trs, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    result, _ = trs
    paths = result.save_plots(tmp_path, prefix="seed003")
    for path in paths:
        assert path.is_file() and path.stat().st_size > 10000
    ax = result.plot_hysteresis(filename=tmp_path / "hyst.png", x="flux", y="index")
    assert ax.get_xlabel().startswith("flux") and ax.get_ylabel() == "index"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_parallel_intervals_same_result(seed, trs):
    """Two worker processes give the same table as the serial run."""
    result, _ = trs
    intervals = seed_intervals()[:4]
    estimator = TimeResolvedSpectroscopyEstimator(
        intervals, seed_model(), n_jobs=2, parallel_backend="multiprocessing"
    )
    parallel = estimator.run(seed["datasets"])
    assert len(parallel.table) == 4
    np.testing.assert_allclose(parallel.table["index"], result.table["index"][:4], rtol=1e-10)
    np.testing.assert_allclose(
        parallel.table["amplitude"].value, result.table["amplitude"][:4].value, rtol=1e-10
    )
    assert all(m is not None for m in parallel.models)
