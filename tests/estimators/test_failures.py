"""Convergence honesty of the estimators: failed bins are flagged and say why.

Non-converging or unusable bins are injected into otherwise good synthetic spectra (a bin
with zero exposure and zero counts, a norm pushed to its bound, an optimiser call limit of
one, NaN in a group's data, an interval whose fit raises); every such bin must have
``success=False`` (or, for a norm on its bound, a note) and a non-empty ``message``, and
the other bins must be exactly what they are without the injected failure. Messages are
kept through write/read of the flux points (FITS and ECSV, SED and light-curve layouts).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.datasets import Datasets, FluxPoints, GoodTimeIntervals, SpectrumDataset
from fluxfit.errors import DatasetError, FitError
from fluxfit.estimators import (
    FluxPointsEstimator,
    LightCurveEstimator,
    TimeResolvedSpectroscopyEstimator,
)
from fluxfit.estimators.norm_solver import NormProblem, minimize_norm
from fluxfit.fit import Fit
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

EDGES = np.geomspace(0.5, 50, 21) * u.TeV
GROUPS = EDGES[::4]  # five energy groups of four channels
T0 = Time("2020-01-01T00:00:00", scale="tt")
RUN = 1800.0


def header():
    h = fits.Header()
    h["MJDREFI"], h["MJDREFF"], h["TIMESYS"], h["TIMEUNIT"] = int(T0.mjd), 0.0, "TT", "s"
    return h


def source(name="src", index=2.5, amplitude=1e-11):
    return SkyModel(
        PowerLawSpectralModel(index=index, amplitude=f"{amplitude} cm-2 s-1 TeV-1"), name=name
    )


def spectrum(name="a", seed=1, dead=(), start=0.0, exposure=2e13):
    """A Cash spectrum simulated from `source`; channels ``dead`` have no exposure, no counts."""
    rng = np.random.default_rng(seed)
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(20))
    expo = np.full(20, exposure)
    background = np.full(20, 2.0)
    truth = SpectrumDataset(
        counts=np.zeros(20), exposure=expo, edisp=edisp, background=background, name=name
    )
    truth.models = Models([source()])
    counts = rng.poisson(truth.npred()).astype(float)
    dead = list(dead)
    expo[dead] = 0.0
    counts[dead] = 0.0
    return SpectrumDataset(
        counts=counts,
        exposure=expo,
        edisp=edisp,
        background=background,
        name=name,
        livetime=RUN,
        gti=GoodTimeIntervals([start], [start + RUN], header()),
    )


def with_model(dataset, *models):
    datasets = Datasets([dataset]) if not isinstance(dataset, Datasets) else dataset
    datasets.models = Models(list(models) or [source()])
    return datasets


OTHERS = ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts", "stat", "stat_null")


def assert_bins_equal(a, b, index):
    for key in OTHERS:
        np.testing.assert_array_equal(
            np.asarray(a.get_quantity(key))[index], np.asarray(b.get_quantity(key))[index], key
        )
    assert np.asarray(a.success)[index].all()


# ------------------------------------------------------------ flux points, fast path
def test_zero_exposure_group_is_flagged_others_unchanged():
    good = FluxPointsEstimator(energy_edges=GROUPS, source="src", selection_optional="all")
    reference = good.run(with_model(spectrum()))
    fp = good.run(with_model(spectrum(dead=range(4, 8))))  # the whole second group
    assert fp.success.tolist() == [True, False, True, True, True]
    assert "predicts no counts" in fp.message[1]
    assert np.isnan(fp.norm[1])
    assert [m for i, m in enumerate(fp.message) if i != 1] == [""] * 4
    assert_bins_equal(fp, reference, [0, 2, 3, 4])


def test_group_without_fitted_channel_is_flagged():
    dataset = spectrum()
    dataset.mask_safe = np.arange(20) >= 4  # the first group is not safe
    fp = FluxPointsEstimator(energy_edges=GROUPS, source="src").run(with_model(dataset))
    assert fp.success.tolist() == [False, True, True, True, True]
    assert fp.message[0] and "channel" in fp.message[0]


def test_norm_pushed_to_its_bound_is_noted():
    # reference model 1.5 x the truth: the free norms are [0.62 0.66 0.58 0.30 2.6]
    kwargs = dict(energy_edges=GROUPS, source="src")
    datasets = with_model(spectrum(seed=3), source(amplitude=1.5e-11))
    free = FluxPointsEstimator(**kwargs).run(datasets)
    fp = FluxPointsEstimator(norm={"min": 0.5}, **kwargs).run(datasets)
    at_bound = fp.norm == 0.5
    assert at_bound.tolist() == [False, False, False, True, False]
    np.testing.assert_allclose(fp.norm[~at_bound], free.norm[~at_bound], rtol=1e-12)
    for flag, message in zip(at_bound, fp.message):
        assert ("norm at its bound min=0.5" in message) == flag
    assert fp.success.all()  # a bounded minimum is a minimum; the note says where


def test_nan_in_a_group_is_flagged_others_unchanged():
    """NaN cannot enter through the dataset classes (they refuse it, naming the channel);
    a NormProblem fed NaN directly flags that group only."""
    with pytest.raises(DatasetError, match=r"counts\[3\] = nan"):
        SpectrumDataset(
            counts=np.where(np.arange(20) == 3, np.nan, 1.0),
            exposure=np.full(20, 1e12),
            edisp=EnergyDispersionMatrix(EDGES, EDGES, np.eye(20)),
            name="nan",
        )

    def problem(nan):
        p = NormProblem(3)
        counts = np.array([5.0, 3.0, 8.0, 2.0, 4.0, 6.0])
        if nan:
            counts[3] = np.nan
        p.add_cash(np.array([0, 0, 1, 1, 2, 2]), counts, np.full(6, 2.0), np.full(6, 1.0))
        p.finalize()
        return minimize_norm(p)

    bad, good = problem(True), problem(False)
    assert bad.success.tolist() == [True, False, True]
    assert "not finite" in bad.message[1]
    assert bad.message[0] == bad.message[2] == ""
    np.testing.assert_array_equal(bad.x[[0, 2]], good.x[[0, 2]])


# ------------------------------------------------------------ flux points, general path
def test_call_limit_of_one_is_flagged():
    """reoptimize=True with another free source: every group is a Fit with ncall=1."""
    datasets = with_model(spectrum(), source(), source("other", index=3.0, amplitude=1e-12))
    fp = FluxPointsEstimator(
        energy_edges=GROUPS[:3],
        source="src",
        reoptimize=True,
        fit=Fit(optimize_opts={"ncall": 1}),
    ).run(datasets)
    assert not fp.success.any()
    assert all("call limit" in m for m in fp.message), fp.message


def test_general_path_parameter_at_bound_is_noted():
    other = source("other", index=3.0, amplitude=1e-13)
    other.spectral_model.amplitude.min = 1e-13  # the data want less: it ends on its bound
    datasets = with_model(spectrum(), source(), other)
    fp = FluxPointsEstimator(energy_edges=GROUPS[:2], source="src", reoptimize=True).run(datasets)
    assert fp.success.all()
    assert "'amplitude' of model 'other' is at its bound min=1e-13" in fp.message[0]


def test_general_path_group_without_data_is_flagged():
    datasets = with_model(spectrum(dead=range(4, 8)), source(), source("other", index=3.0))
    datasets[0].mask_safe = np.arange(20) >= 4
    fp = FluxPointsEstimator(energy_edges=GROUPS[:4], source="src", reoptimize=True).run(datasets)
    assert fp.success.tolist() == [False, False, True]
    assert "no dataset has a fitted channel" in fp.message[0]
    assert fp.message[1]  # zero exposure: the norm is not constrained, the fit says so
    assert fp.message[2] == ""


def test_reoptimize_with_only_the_norm_free():
    """Gammapy 2.1: ``ValueError: No free parameters for fitting``; here the norm alone is
    fitted, the same as reoptimize=False."""
    datasets = with_model(spectrum())
    datasets.models["src"].freeze()
    kwargs = dict(energy_edges=GROUPS, source="src", selection_optional="all")
    fp = FluxPointsEstimator(reoptimize=True, **kwargs).run(datasets)
    reference = FluxPointsEstimator(**kwargs).run(datasets)
    assert fp.success.all()
    assert_bins_equal(fp, reference, slice(None))


# ------------------------------------------------------------ light curve
def runs(dead_run=None):
    out = []
    for k in range(4):
        dead = range(20) if k == dead_run else ()
        out.append(spectrum(f"run{k}", seed=10 + k, dead=dead, start=k * 2400.0))
    return with_model(Datasets(out))


@pytest.mark.parametrize("reoptimize", [False, True])
def test_light_curve_bin_without_exposure_is_flagged(reoptimize):
    models = [source()] + ([source("other", index=3.0, amplitude=1e-12)] if reoptimize else [])
    kwargs = dict(energy_edges=[0.5, 5, 50] * u.TeV, source="src", reoptimize=reoptimize)
    good, bad = runs(), runs(dead_run=2)
    good.models = bad.models = Models(models)
    reference = LightCurveEstimator(**kwargs).run(good)
    lc = LightCurveEstimator(**kwargs).run(bad)
    assert not lc.success[2].any()
    assert all(lc.message[2]), lc.message
    keep = [0, 1, 3]
    assert lc.success[keep].all()
    assert lc.message[keep].tolist() == reference.message[keep].tolist()
    for key in ("norm", "norm_err", "ts", "stat"):
        np.testing.assert_array_equal(lc.get_quantity(key)[keep], reference.get_quantity(key)[keep])


# ------------------------------------------------------------ time-resolved
def test_time_resolved_failed_interval_is_flagged():
    datasets = runs()
    intervals = [Time([T0 + k * 2400 * u.s, T0 + (k * 2400 + RUN) * u.s]) for k in range(4)]
    estimator = TimeResolvedSpectroscopyEstimator(
        time_intervals=intervals, model=source(), fit=Fit(optimize_opts={"ncall": 1})
    )
    result = estimator.run(datasets)
    table = result.table
    assert not np.asarray(table["success"]).any()
    assert all("call limit" in m for m in table["message"])


def test_time_resolved_flux_error_note(monkeypatch):
    from fluxfit.estimators import time_resolved

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("singular matrix")

    models = Models([source()])
    monkeypatch.setattr(type(models[0].spectral_model), "integral_error", broken)
    flux, error, note = time_resolved._integral_flux(models, [1, 10] * u.TeV)
    assert np.isfinite(flux) and np.isnan(error)
    assert "flux error of 'src' not propagated (LinAlgError: singular matrix)" in note


def test_time_resolved_unexpected_error_is_not_swallowed(monkeypatch):
    from fluxfit.estimators import time_resolved

    def buggy(*args, **kwargs):
        raise KeyError("a bug")

    models = Models([source()])
    monkeypatch.setattr(type(models[0].spectral_model), "integral_error", buggy)
    with pytest.raises(KeyError):
        time_resolved._integral_flux(models, [1, 10] * u.TeV)


# ------------------------------------------------------------ messages on disk
@pytest.fixture(scope="module")
def failed_points():
    return FluxPointsEstimator(energy_edges=GROUPS, source="src", selection_optional="all").run(
        with_model(spectrum(dead=range(4, 8)))
    )


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
@pytest.mark.parametrize("sed_type", ["likelihood", "dnde"])
def test_messages_round_trip(failed_points, tmp_path, suffix, sed_type):
    path = tmp_path / f"points{suffix}"
    failed_points.write(path, sed_type=sed_type)
    table = Table.read(path, **({"hdu": "FLUXPOINTS"} if suffix == ".fits" else {}))
    assert table.colnames[-1] == "message"
    back = FluxPoints.read(path)
    assert back.message.tolist() == failed_points.message.tolist()
    assert back.success.tolist() == failed_points.success.tolist()


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_light_curve_messages_round_trip(tmp_path, suffix):
    lc = LightCurveEstimator(energy_edges=[0.5, 5, 50] * u.TeV, source="src").run(runs(dead_run=1))
    path = tmp_path / f"lc{suffix}"
    lc.write(path, format="lightcurve")
    back = FluxPoints.read(path, format="lightcurve")
    assert back.message.tolist() == lc.message.tolist()


def test_no_message_column_without_failures(tmp_path):
    """All bins fine: the table has Gammapy's columns only (no fluxfit extension)."""
    fp = FluxPointsEstimator(energy_edges=GROUPS, source="src").run(with_model(spectrum()))
    assert (fp.message == "").all()
    assert "message" not in fp.to_table().colnames
    fp.write(tmp_path / "p.fits")
    assert FluxPoints.read(tmp_path / "p.fits").available_quantities.count("message") == 0


def test_fit_errors_in_group_fits_are_named(monkeypatch):
    """A FitError inside a group fit is recorded with its type and text."""

    def failing(self, datasets):
        raise FitError("injected failure of dataset 'a'")

    monkeypatch.setattr(Fit, "run", failing)
    datasets = with_model(spectrum(), source(), source("other", index=3.0))
    fp = FluxPointsEstimator(energy_edges=GROUPS[:2], source="src", reoptimize=True).run(datasets)
    assert not fp.success.any()
    assert fp.message[0] == "FitError: injected failure of dataset 'a'"


# ------------------------------------------------------------ flux profile (real data)
@pytest.mark.data
def test_profile_regions_without_safe_pixels_are_flagged(data_dir):
    """Fermi-LAT GC: rectangles at both ends of the 51 lie in the unsafe border (no data)."""
    from astropy.coordinates import SkyCoord

    from fluxfit.datasets.map import MapDataset
    from fluxfit.estimators import FluxProfileEstimator
    from fluxfit.maps import make_orthogonal_rectangle_sky_regions

    gc = MapDataset.read(
        data_dir / "gammapy-data/fermi-3fhl-gc/fermi-3fhl-gc.fits.gz", name="fermi-dataset"
    )
    regions = make_orthogonal_rectangle_sky_regions(
        start_pos=SkyCoord("10d", "0d", frame="galactic"),
        end_pos=SkyCoord("350d", "0d", frame="galactic"),
        wcs=gc.counts.geom.wcs,
        height="3 deg",
        nbin=51,
    )
    profile = FluxProfileEstimator(
        regions, spectrum=PowerLawSpectralModel(index=2.3), energy_edges=[10, 2000] * u.GeV
    ).run(gc)
    failed = ~profile.success
    assert failed[:2].all() and not failed[2:-2].any()  # the last two: the other border
    assert all("no fitted channel" in m for m in profile.message[failed])
    assert (profile.message[~failed] == "").all()
