"""Every estimator and batch analysis gives the same numbers on every backend.

Each analysis runs serially, on a 2-process pool and on a local Ray instance (skipped with a
reason where Ray is not installed); the results are compared bit for bit: a task runs the
same code on the same data whichever process runs it, so nothing may differ.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from _parallel_helpers import light_curve_datasets, map_dataset, source_model, time_intervals
from astropy.coordinates import SkyCoord

from fluxfit.datasets import Datasets
from fluxfit.estimators import (
    FluxPointsEstimator,
    FluxProfileEstimator,
    LightCurveEstimator,
    TimeResolvedSpectroscopyEstimator,
)
from fluxfit.fit.batch import fit_independently, simulate_and_fit
from fluxfit.models import Models, PowerLawSpectralModel

PARALLEL = ["multiprocessing", "ray"]


@pytest.fixture(params=PARALLEL)
def backend(request):
    if request.param == "ray":
        request.getfixturevalue("ray_local")  # skips where Ray is not installed
    return request.param


def assert_flux_points_equal(result, expected):
    assert result.axes.names == expected.axes.names
    assert sorted(result._data) == sorted(expected._data)
    for key, values in expected._data.items():
        np.testing.assert_array_equal(
            np.asarray(result._data[key]), np.asarray(values), err_msg=key, strict=True
        )


def assert_tables_equal(result, expected, skip=()):
    assert result.colnames == expected.colnames
    for name in expected.colnames:
        if name in skip:
            continue
        a, b = np.asarray(result[name]), np.asarray(expected[name])
        if a.dtype.kind == "f":
            np.testing.assert_array_equal(a, b, err_msg=name)
        else:
            assert a.tolist() == b.tolist(), name


# ------------------------------------------------------------------- estimators
def run_flux_points(n_jobs=None, backend=None):
    estimator = FluxPointsEstimator(
        energy_edges=[0.5, 1.5, 5, 15, 50] * u.TeV,
        source="src",
        reoptimize=True,  # the other source's amplitude refitted: one task per energy group
        selection_optional=["errn-errp", "ul", "scan"],
        n_jobs=n_jobs,
        parallel_backend=backend,
    )
    return estimator.run(light_curve_datasets(2))


@pytest.fixture(scope="module")
def flux_points_serial():
    return run_flux_points()


def test_flux_points_estimator(backend, flux_points_serial):
    assert_flux_points_equal(run_flux_points(2, backend), flux_points_serial)
    assert flux_points_serial.success.all()


def run_light_curve(n_jobs=None, backend=None):
    estimator = LightCurveEstimator(
        energy_edges=[0.5, 5, 50] * u.TeV,
        source="src",
        reoptimize=True,  # one task per time bin
        selection_optional=["errn-errp", "ul"],
        n_jobs=n_jobs,
        parallel_backend=backend,
    )
    return estimator.run(light_curve_datasets(8))


@pytest.fixture(scope="module")
def light_curve_serial():
    return run_light_curve()


def test_light_curve_estimator(backend, light_curve_serial):
    assert light_curve_serial.data_shape == (8, 2)
    assert_flux_points_equal(run_light_curve(2, backend), light_curve_serial)


def run_time_resolved(n_jobs=None, backend=None):
    model = source_model(index=2.0)
    estimator = TimeResolvedSpectroscopyEstimator(
        time_intervals(6), model, n_jobs=n_jobs, parallel_backend=backend
    )
    datasets = light_curve_datasets(6, two_sources=False)
    return estimator.run(datasets)


@pytest.fixture(scope="module")
def time_resolved_serial():
    return run_time_resolved()


def test_time_resolved_spectroscopy(backend, time_resolved_serial):
    result = run_time_resolved(2, backend)
    assert len(time_resolved_serial.table) == 6
    assert all(time_resolved_serial.table["success"])
    assert_tables_equal(result.table, time_resolved_serial.table)
    for fitted, expected in zip(result.models, time_resolved_serial.models):
        assert fitted.parameters.value.tolist() == expected.parameters.value.tolist()


def run_profile(n_jobs=None, backend=None):
    from fluxfit.maps import make_orthogonal_rectangle_sky_regions

    dataset = map_dataset()
    regions = make_orthogonal_rectangle_sky_regions(
        SkyCoord("-1d", "0d", frame="galactic"),
        SkyCoord("1d", "0d", frame="galactic"),
        dataset.counts.geom.wcs,
        "0.6 deg",
        nbin=8,
    )
    estimator = FluxProfileEstimator(
        regions,
        spectral_model=PowerLawSpectralModel(index=2.3),
        selection_optional=["ul", "scan"],
        n_jobs=n_jobs,
        parallel_backend=backend,
    )
    return estimator.run(Datasets([dataset]))


def test_flux_profile_estimator(backend):
    """All regions are one vectorised solve; the parallel options change nothing."""
    assert_flux_points_equal(run_profile(2, backend), run_profile())


# ------------------------------------------------------------------ batch analyses
def test_fit_independently(backend):
    datasets = light_curve_datasets(6, two_sources=False)
    models = Models([source_model(index=2.0)])
    serial = fit_independently(datasets, models)
    table = fit_independently(datasets, models, n_jobs=2, parallel_backend=backend)
    assert all(serial["success"])
    assert_tables_equal(table, serial)


def test_simulate_and_fit(backend):
    template = light_curve_datasets(1, two_sources=False)[0]
    truth = Models([source_model(index=2.5)])
    kwargs = dict(n_simulations=8, ts_source="src", random_state=4)
    serial = simulate_and_fit(template, truth, **kwargs)
    table = simulate_and_fit(template, truth, n_jobs=2, parallel_backend=backend, **kwargs)
    assert all(serial["success"]) and np.all(serial["ts"] > 25)
    assert_tables_equal(table, serial)
