"""LightCurveEstimator on the H.E.S.S. PKS 2155-304 flare (seed 003) against Gammapy 2.1.

The 34 ON/OFF pieces of the 21 runs cut at the 24 fifteen-minute intervals are built with
`fluxfit.makers` as in seed 003 (skipped when the makers cannot build them). Reference:
``../shared/reference/gammapy/wf3_time_resolved.json``. It records no light-curve numbers
(its light-curve step did not complete), but its per-interval power-law fits pin the light
curve down: with the source model set to an interval's best fit (index and amplitude), the
norm fitted in that interval over the whole energy range must be 1 (the likelihood is
maximal there), to Gammapy's minimiser tolerance. The pieces selected in each interval and
their counts are checked against the reference too.
"""

from __future__ import annotations

import itertools
import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.estimators import LightCurveEstimator
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

pytestmark = pytest.mark.data

TARGET = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")
ALL_ENERGIES = [0.1, 100] * u.TeV  # every reconstructed bin (0.4-20 TeV)


@pytest.fixture(scope="module")
def wf3(reference_dir):
    return json.loads((reference_dir / "gammapy/wf3_time_resolved.json").read_text())


@pytest.fixture(scope="module")
def intervals():
    times = Time("2006-07-29T20:30") + np.arange(25) * 15 * u.min
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


@pytest.fixture(scope="module")
def pieces(data_dir, intervals):
    """The seed-003 ON/OFF datasets, or a skip when fluxfit.makers cannot build them."""
    try:
        from fluxfit.data import DataStore
        from fluxfit.makers import (
            ReflectedRegionsBackgroundMaker,
            SafeMaskMaker,
            SpectrumDatasetMaker,
            SpectrumReduction,
        )
        from fluxfit.maps import MapAxis, RegionGeom

        store = DataStore.from_dir(data_dir / "gammapy-data/hess-dl3-dr1")
        selection = dict(
            type="sky_circle", frame="icrs", lon=TARGET.ra, lat=TARGET.dec, radius=2 * u.deg
        )
        obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
        observations = store.get_observations(obs_ids).select_time(intervals)
        energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
        energy_axis_true = MapAxis.from_energy_bounds(
            "0.1 TeV", "40 TeV", nbin=20, name="energy_true"
        )
        on_region = CircleSkyRegion(center=TARGET, radius=Angle("0.11 deg"))
        reduction = SpectrumReduction(
            RegionGeom.create(region=on_region, axes=[energy_axis]),
            energy_axis_true,
            dataset_maker=SpectrumDatasetMaker(
                containment_correction=True, selection=["counts", "exposure", "edisp"]
            ),
            background_maker=ReflectedRegionsBackgroundMaker(),
            safe_mask_maker=SafeMaskMaker(methods=["aeff-max"], aeff_percent=10),
        )
        datasets = reduction.run(observations)
    except Exception as exc:  # the makers are another developer's work in progress
        pytest.skip(f"fluxfit.makers cannot build the seed-003 datasets: {exc!r}")
    if len(datasets) != 34:
        pytest.skip(f"fluxfit.makers built {len(datasets)} pieces, not the seed's 34")
    return datasets


def model(index=3.0, amplitude="2e-11 cm-2 s-1 TeV-1"):
    return Models(
        [SkyModel(PowerLawSpectralModel(index=index, amplitude=amplitude), name="pks2155")]
    )


def test_selection_per_interval(pieces, intervals, wf3):
    assert pieces.names == [d["name"] for d in wf3["datasets"]]
    pieces.models = model()
    lc = LightCurveEstimator(
        energy_edges=ALL_ENERGIES, time_intervals=intervals, source="pks2155"
    ).run(pieces)
    rows = wf3["trs_table"]
    assert lc.data_shape == (len(rows), 1) == (24, 1)
    n_inside = np.isfinite(lc.counts[:, 0, :]).sum(axis=1)
    assert n_inside.tolist() == [r["n_datasets"] for r in rows]
    # each piece in exactly one interval, with its safe counts
    assert np.nansum(lc.counts[:, 0, :], axis=0) == pytest.approx(
        [d["counts"] for d in wf3["datasets"]]
    )
    starts = lc.axes["time"].time_min.utc.isot
    assert [s[:19] for s in starts] == [r["tstart"][:19] for r in rows]
    assert lc.success.all()
    assert np.all(lc.ts > 100)  # the flare is seen in every interval


def test_norm_is_one_at_gammapy_best_fits(pieces, intervals, wf3):
    """With an interval's Gammapy best fit as the model, the fitted norm there is 1."""
    norms, errors, relative = [], [], []
    for interval, row in zip(intervals, wf3["trs_table"]):
        amplitude = row["amplitude"] * u.Unit(row["amplitude_unit"])
        pieces.models = model(row["index"], amplitude)
        lc = LightCurveEstimator(
            energy_edges=ALL_ENERGIES, time_intervals=[interval], source="pks2155"
        ).run(pieces)
        norms.append(lc.norm[0, 0])
        errors.append(lc.norm_err[0, 0])
        relative.append(row["amplitude_err"] / row["amplitude"])
    norms = np.array(norms)
    assert norms == pytest.approx(np.ones(24), abs=2e-3)
    assert np.all(np.abs(norms - 1) < 0.02 * np.array(errors))
    # index fixed: the norm error is below the amplitude error of the free-index fit
    assert np.all(np.array(errors) < np.array(relative))


def test_recorded_lightcurve(pieces, intervals, wf3):
    """Gammapy's light curve, where the reference records it."""
    recorded = wf3.get("lightcurve", {}).get("lc_full_0p4_20TeV", {})
    if "rows" not in recorded:
        pytest.skip("wf3_time_resolved.json records no light-curve numbers")
    pieces.models = model()
    lc = LightCurveEstimator(
        energy_edges=[0.4, 20] * u.TeV,
        time_intervals=intervals,
        source="pks2155",
        selection_optional="all",
        norm={"scan_max": 10},
    ).run(pieces)
    flux = lc.flux.to_value("cm-2 s-1")[:, 0]
    ref = np.array([np.ravel(r["flux"])[0] for r in recorded["rows"]], float)
    assert flux == pytest.approx(ref, rel=0.01)
