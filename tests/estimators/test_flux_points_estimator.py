"""FluxPointsEstimator on the stacked H.E.S.S. Crab runs against Gammapy 2.1, and its options.

References: ``../shared/reference/gammapy/wf4_fpe_options.json`` (variant "explicit":
``selection_optional=["errn-errp", "ul", "scan"]``, 6 log bins 1-15 TeV, the joint-fit
best-fit model ``wf2_joint_bestfit_models.yaml``) and ``wf2_joint_crab.json``
(``hess_flux_points``: ``selection_optional=["ul"]``). Tolerance: 1 % (absolute 0.01 in
norm-like quantities near zero, 0.01 in statistics); the differences seen are ~1e-4
(Gammapy's minimiser tolerance and numerical model integration).
"""

from __future__ import annotations

import json
import logging
import warnings

import astropy.units as u
import numpy as np
import pytest

from fluxfit.datasets import Datasets, FluxPoints, SpectrumDatasetOnOff
from fluxfit.estimators import (
    EstimatorError,
    FluxPointsEstimator,
    NormParameter,
)
from fluxfit.maps import MapAxis
from fluxfit.models import Models, Parameter, PowerLawSpectralModel, SkyModel

pytestmark = pytest.mark.data

SOURCE = "Crab Nebula"
EDGES = MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges
NORM_KEYS = ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul")
DNDE_KEYS = ("dnde", "dnde_err", "dnde_errn", "dnde_errp", "dnde_ul")


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def wf4(reference_dir):
    return json.loads((reference_dir / "gammapy/wf4_fpe_options.json").read_text())


@pytest.fixture(scope="module")
def wf2(reference_dir):
    return json.loads((reference_dir / "gammapy/wf2_joint_crab.json").read_text())


def hess_runs(data_dir):
    hess_dir = data_dir / "gammapy-data/joint-crab/spectra/hess"
    return Datasets(
        [SpectrumDatasetOnOff.read(hess_dir / f"pha_obs{n}.fits") for n in (23523, 23526)]
    )


@pytest.fixture(scope="module")
def bestfit_models(reference_dir):
    return Models.read(reference_dir / "gammapy/wf2_joint_bestfit_models.yaml")


@pytest.fixture(scope="module")
def hess(data_dir, bestfit_models):
    dataset = hess_runs(data_dir).stack_reduce(name="HESS")
    dataset.models = bestfit_models
    return dataset


@pytest.fixture(scope="module")
def fp_all(hess):
    return FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all").run(
        [hess]
    )


def approx(value, rel=0.01, abs=0.01):
    return pytest.approx(value, rel=rel, abs=abs, nan_ok=True)


def column(rows, key):
    return np.array([np.asarray(r[key], dtype=float).ravel() for r in rows], dtype=float)


# ------------------------------------------------------------ vs Gammapy
def test_model_and_dataset_match_reference(hess, wf4):
    assert hess.models.names == wf4["model_components_on_dataset"]
    assert hess.stat_sum() == pytest.approx(wf4["stat_sum"], abs=1e-3)


def test_wf4_explicit_selection(hess, wf4):
    ref = wf4["explicit"]
    estimator = FluxPointsEstimator(
        energy_edges=EDGES, source=SOURCE, **{k: v for k, v in ref["kwargs"].items()}
    )
    assert estimator.selection_optional == ref["selection_optional_expanded"]
    assert estimator.norm.scan_values == pytest.approx(ref["norm_scan_values"], rel=1e-12)
    fp = estimator.run([hess])
    rows = ref["flux_points"]["rows"]
    likelihood = fp.to_table(sed_type="likelihood")
    dnde = fp.to_table(sed_type="dnde")
    assert likelihood.colnames == ref["flux_points"]["likelihood_columns"]
    assert dnde.colnames == ref["flux_points"]["dnde_columns"]
    for key in ("e_ref", "e_min", "e_max"):
        assert dnde[key].quantity.to_value("keV") == pytest.approx(
            column(rows, key).ravel(), rel=1e-9
        )
    for key in NORM_KEYS:
        assert np.asarray(likelihood[key]) == approx(column(rows, key).ravel()), key
    for key in DNDE_KEYS:
        ours = dnde[key].quantity.to_value("cm-2 s-1 TeV-1")
        assert ours == pytest.approx(column(rows, key).ravel(), rel=0.01), key
    for key in ("ts", "sqrt_ts", "stat", "stat_null", "npred", "npred_excess", "counts"):
        assert np.asarray(likelihood[key], float).ravel() == approx(column(rows, key).ravel()), key
    assert np.asarray(likelihood["success"]).tolist() == [r["success"] for r in rows]
    assert np.asarray(likelihood["is_ul"]).tolist() == [r["is_ul"] for r in rows]
    assert np.asarray(likelihood["norm_scan"]) == pytest.approx(column(rows, "norm_scan"))
    assert np.asarray(likelihood["stat_scan"]) == approx(column(rows, "stat_scan"))


def test_wf2_hess_flux_points(hess, wf2):
    ref = wf2["hess_flux_points"]
    assert ref["kwargs"]["selection_optional"] == "['ul']"
    edges = u.Quantity(ref["energy_edges_TeV"], "TeV")
    fp = FluxPointsEstimator(energy_edges=edges, source=SOURCE, selection_optional=["ul"]).run(hess)
    table = fp.to_table(sed_type="dnde")
    assert table.colnames == ref["dnde"]["columns"]
    rows = ref["dnde"]["rows"]
    for key in ("dnde", "dnde_err", "dnde_ul"):
        ours = table[key].quantity.to_value(ref["dnde"]["units"][key])
        assert ours == pytest.approx(column(rows, key).ravel(), rel=0.01), key
    for key in ("ts", "sqrt_ts", "stat", "stat_null", "npred", "npred_excess", "counts"):
        assert np.asarray(table[key], float).ravel() == approx(column(rows, key).ravel()), key
    assert np.asarray(table["is_ul"]).tolist() == [r["is_ul"] for r in rows]
    likelihood = fp.to_table(sed_type="likelihood")
    lrows = ref["likelihood"]["rows"]
    for key in ("norm", "norm_err", "norm_ul"):
        assert np.asarray(likelihood[key]) == approx(column(lrows, key).ravel()), key


def test_gammapy_stacked_file(reference_dir, bestfit_models, fp_all):
    """Gammapy's own stacked dataset (region-map layout) gives the same flux points."""
    map_io = pytest.importorskip("fluxfit.datasets.map_io")
    path = reference_dir / "gammapy/wf2_hess_stacked.fits"
    dataset = map_io.read_spectrum_dataset_gadf(path, name="HESS")
    dataset.models = bestfit_models
    fp = FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all").run(
        dataset
    )
    for key in NORM_KEYS + ("ts", "stat", "counts"):
        assert fp.get_quantity(key) == pytest.approx(fp_all.get_quantity(key), rel=1e-3), key


def test_all_equals_explicit(hess, fp_all, wf4):
    explicit = FluxPointsEstimator(
        energy_edges=EDGES, source=SOURCE, selection_optional=["errn-errp", "ul", "scan"]
    ).run(hess)
    for key in NORM_KEYS + ("ts", "stat_scan"):
        assert np.array_equal(fp_all.get_quantity(key), explicit.get_quantity(key))


def test_reoptimize_without_other_free_parameters(hess, fp_all):
    """Gammapy 2.1 fails here (no free parameter left); fluxfit fits the norm alone."""
    fp = FluxPointsEstimator(
        energy_edges=EDGES, source=SOURCE, selection_optional="all", reoptimize=True
    ).run(hess)
    for key in NORM_KEYS + ("ts",):
        assert np.array_equal(fp.get_quantity(key), fp_all.get_quantity(key))


def test_n_jobs_and_backend_accepted(hess, fp_all):
    fp = FluxPointsEstimator(
        energy_edges=EDGES,
        source=SOURCE,
        selection_optional="all",
        n_jobs=2,
        parallel_backend="multiprocessing",
    ).run(hess)
    assert np.array_equal(fp.norm, fp_all.norm)
    with pytest.raises(EstimatorError, match="n_jobs"):
        FluxPointsEstimator(n_jobs=1.5)
    with pytest.raises(EstimatorError, match="parallel_backend"):
        FluxPointsEstimator(parallel_backend="dask")


# ---------------------------------------------------------- consistency
def test_general_path_agrees_with_fast_path(hess, fp_all):
    """The same problem through Fit (minuit, minos) per group: 1e-3 agreement."""
    from fluxfit.estimators.core import dataset_arrays, snap_energy_edges

    estimator = FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all")
    datasets = Datasets([hess])
    arrays = [dataset_arrays(d, SOURCE) for d in datasets]
    snaps = [snap_energy_edges(a.energy_axis, EDGES) for a in arrays]
    general = estimator._run_general(datasets, arrays, snaps, SOURCE, 6)
    for key in NORM_KEYS + ("ts", "stat", "stat_null"):
        assert general[key] == pytest.approx(fp_all._data[key], rel=1e-3, abs=1e-4), key
    assert general["stat_scan"] == pytest.approx(fp_all._data["stat_scan"], rel=1e-9)
    assert general["npred"] == pytest.approx(fp_all._data["npred"], rel=1e-3)
    assert general["counts"] == pytest.approx(fp_all._data["counts"])


def test_n_sigma_options(hess, fp_all):
    fp = FluxPointsEstimator(
        energy_edges=EDGES,
        source=SOURCE,
        selection_optional=["errn-errp", "ul"],
        n_sigma=2,
        n_sigma_ul=1,
    ).run(hess)
    # errp(2 sigma) + norm = UL(2 sigma); UL(1 sigma) = norm + errp(1 sigma)
    assert fp.norm + fp.norm_errp == pytest.approx(fp_all.norm_ul, rel=1e-8)
    assert fp.norm_ul == pytest.approx(fp_all.norm + fp_all.norm_errp, rel=1e-8)
    assert fp.norm_err == pytest.approx(2 * fp_all.norm_err, rel=1e-12)
    assert fp.meta["n_sigma"] == 2 and fp.meta["n_sigma_ul"] == 1
    assert fp.n_sigma_ul == 1


def test_norm_options(hess, fp_all):
    bounded = FluxPointsEstimator(
        energy_edges=EDGES,
        source=SOURCE,
        selection_optional="all",
        norm={"min": 0.5, "max": 1.2, "scan_values": [0.5, 1.0, 1.5]},
    ).run(hess)
    expected = np.clip(fp_all.norm, 0.5, 1.2)
    assert bounded.norm == pytest.approx(expected, rel=1e-8)
    assert bounded.norm_scan.shape == (6, 3)
    # an upper limit beyond the max does not exist; the last bin's best fit is on the min
    beyond = fp_all.norm_ul > 1.2
    assert beyond.tolist() == [False, True, True, True, True, False]
    assert np.isnan(bounded.norm_ul[beyond]).all()
    assert bounded.norm_ul[0] == pytest.approx(fp_all.norm_ul[0], rel=1e-8)
    assert bounded.norm[-1] == 0.5 and np.isnan(bounded.norm_errn[-1])
    scan = FluxPointsEstimator(
        energy_edges=EDGES, source=SOURCE, selection_optional=["scan"], norm_values=[1.0, 2.0]
    )
    assert scan.norm_values.tolist() == [1.0, 2.0]
    fp = scan.run(hess)
    assert fp.stat_scan.shape == (6, 2)
    assert fp.stat_scan[:, 0] == pytest.approx(fp_all.stat_scan[:, 5], rel=1e-12)
    legacy = FluxPointsEstimator(norm_min=0.1, norm_max=10, norm_n_values=5)
    assert legacy.norm.scan_values == pytest.approx(np.geomspace(0.1, 10, 5))
    assert (legacy.norm_min, legacy.norm_max, legacy.norm_n_values) == (0.1, 10, 5)
    par = Parameter("norm", 1.0, min=-1, max=10, interp="log")
    from_par = FluxPointsEstimator(norm=par)
    assert (from_par.norm.min, from_par.norm.max) == (-1, 10)
    assert isinstance(from_par.norm, NormParameter)
    with pytest.raises(EstimatorError, match="named 'norm'"):
        FluxPointsEstimator(norm={"name": "amplitude"})
    with pytest.raises(EstimatorError, match="unknown key"):
        FluxPointsEstimator(norm={"scan_nvalues": 3})


def test_linear_norm_warns(caplog):
    with caplog.at_level(logging.WARNING):
        est = FluxPointsEstimator(norm={"interp": "lin", "scan_min": -1, "scan_max": 3})
    assert "Linear interpolation" in caplog.text
    assert est.norm.scan_values == pytest.approx(np.linspace(-1, 3, 11))


def test_source_by_index_and_errors(hess, fp_all):
    fp = FluxPointsEstimator(energy_edges=EDGES, source=0, selection_optional="all").run(hess)
    assert np.array_equal(fp.norm, fp_all.norm)
    with pytest.raises(EstimatorError, match="not among the models"):
        FluxPointsEstimator(energy_edges=EDGES, source="Vela").run(hess)
    with pytest.raises(EstimatorError, match="selection_optional"):
        FluxPointsEstimator(selection_optional=["sensitivity"])
    with pytest.raises(EstimatorError, match="increasing"):
        FluxPointsEstimator(energy_edges=[10, 1] * u.TeV)


def test_flux_points_dataset_refused(hess, data_dir):
    from fluxfit.datasets import FluxPointsDataset

    hawc = FluxPointsDataset(
        data=FluxPoints.read(data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"),
        name="HAWC",
    )
    datasets = Datasets([hess.copy(name="HESS-copy"), hawc])
    datasets.models = hess.models
    with pytest.raises(EstimatorError, match="datasets of counts"):
        FluxPointsEstimator(energy_edges=EDGES, source=SOURCE).run(datasets)


def test_default_energy_edges_are_dataset_bins(hess):
    fp = FluxPointsEstimator(source=SOURCE).run(hess)
    axis = hess.energy_axis
    assert fp.energy_axis.nbin == axis.nbin
    safe = hess.mask_safe
    assert np.all(fp.success == safe)
    assert np.isnan(fp.norm[~safe]).all()
    assert np.isfinite(fp.norm[safe]).all()


def test_edges_outside_the_dataset(hess):
    """The axis spans 0.01-100 TeV: groups outside it give NaN rows, edges are clipped."""
    edges = [0.001, 0.005, 1, 15, 200, 300] * u.TeV
    fp = FluxPointsEstimator(energy_edges=edges, source=SOURCE, selection_optional=["ul"]).run(hess)
    assert fp.success.tolist() == [False, True, True, True, False]
    assert fp.energy_axis.edges.to_value("TeV") == pytest.approx(
        [0.001, 0.01, 1.0, 15.848931924611142, 100.0, 300.0], rel=1e-9
    )
    assert np.isnan(fp.norm_ul[[0, 4]]).all()
    assert fp.counts[[0, 4], 0].tolist() == [0, 0]
    assert np.isnan(fp.npred[[0, 4]]).all()


def test_sum_over_energy_groups(hess, fp_all):
    """Summed groups equal the flux points of the dataset grouped into one channel per group."""
    fp = FluxPointsEstimator(
        energy_edges=EDGES, source=SOURCE, selection_optional="all", sum_over_energy_groups=True
    ).run(hess)
    grouped = hess.group_by_edges(fp_all.energy_axis.edges, name="grouped")
    grouped.models = hess.models
    ref = FluxPointsEstimator(
        energy_edges=fp_all.energy_axis.edges, source=SOURCE, selection_optional="all"
    ).run(grouped)
    for key in NORM_KEYS + ("ts", "stat", "stat_null", "npred", "counts", "stat_scan"):
        assert fp.get_quantity(key) == pytest.approx(ref.get_quantity(key), rel=1e-7), key
    # different from fitting the bins inside the groups, but close
    assert fp.norm[:5] == pytest.approx(fp_all.norm[:5], rel=0.05)
    assert not np.allclose(fp.norm, fp_all.norm, rtol=1e-6)


def test_joint_runs(data_dir, bestfit_models, fp_all):
    """The two runs fitted jointly (statistics summed); per-dataset counts and npred."""
    runs = hess_runs(data_dir)
    runs.models = bestfit_models
    estimator = FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all")
    fp = estimator.run(runs)
    assert fp.counts.shape == (6, 2)
    assert fp.counts.sum(axis=1) == pytest.approx(fp_all.counts[:, 0])
    assert fp.npred.shape == (6, 2)
    # joint W-stat of two runs is close to the stacked one, not identical
    assert fp.norm == pytest.approx(fp_all.norm, rel=0.05)
    # the general path (minuit on the summed statistic) agrees
    from fluxfit.estimators.core import dataset_arrays, snap_energy_edges

    arrays = [dataset_arrays(d, SOURCE) for d in runs]
    snaps = [snap_energy_edges(a.energy_axis, EDGES) for a in arrays]
    general = estimator._run_general(runs, arrays, snaps, SOURCE, 6)
    for key in NORM_KEYS + ("ts", "stat"):
        assert general[key] == pytest.approx(fp._data[key], rel=1e-3, abs=1e-4), key
    assert general["npred_excess"] == pytest.approx(fp._data["npred_excess"], rel=1e-3)


# ---------------------------------------------------------- reoptimize
def two_source_setup(hess):
    """The H.E.S.S. dataset with a second (fake) source whose amplitude is free."""
    dataset = hess.copy(name="HESS2")
    crab = hess.models[SOURCE].copy(name=SOURCE)
    other = SkyModel(
        PowerLawSpectralModel(index=1.5, amplitude="1e-12 cm-2 s-1 TeV-1"), name="other"
    )
    other.spectral_model.index.frozen = True
    other.spectral_model.amplitude.min = 0.0
    dataset.models = Models([crab, other])
    return dataset, crab, other


def test_reoptimize_refits_other_sources(hess):
    """reoptimize=True against a direct 2-D minimisation on the fixed per-channel arrays.

    With only the other source's amplitude free, its counts scale linearly: the
    profile over it is computed here with scipy, independently of Fit.
    """
    from scipy import optimize

    from fluxfit.estimators.core import dataset_arrays, snap_energy_edges
    from fluxfit.stats import wstat_sum

    dataset, _, other = two_source_setup(hess)
    amplitude0 = other.spectral_model.amplitude.value
    edges = [0.7, 5, 100] * u.TeV  # wide groups: the two spectral shapes are distinguishable
    fp = FluxPointsEstimator(
        energy_edges=edges,
        source=SOURCE,
        selection_optional=["errn-errp", "ul", "scan"],
        norm={"scan_values": [0.5, 1.0, 2.0]},
        reoptimize=True,
    ).run(dataset)
    fixed = FluxPointsEstimator(energy_edges=edges, source=SOURCE).run(dataset)
    assert other.spectral_model.amplitude.value == amplitude0  # models untouched
    arrays = dataset_arrays(dataset, SOURCE)
    t_other = dataset_arrays(dataset, "other").npred_source
    i0, i1, _ = snap_energy_edges(arrays.energy_axis, edges)
    for g in range(2):
        rows = slice(i0[g], i1[g] + 1)
        m = arrays.mask[rows][:, 0]
        n_on = arrays.counts[rows][:, 0][m]
        n_off = arrays.counts_off[rows][:, 0][m]
        alpha = arrays.alpha[rows][:, 0][m]
        s = arrays.npred_source[rows][:, 0][m]
        t = t_other[rows][:, 0][m]

        def stat(x, a, n_on=n_on, n_off=n_off, alpha=alpha, s=s, t=t):
            mu = np.maximum(x * s + a * t, 0.0)
            return float(wstat_sum(n_on, n_off, alpha, mu, check=False))

        def profile(x, stat=stat):
            res = optimize.minimize_scalar(
                lambda a: stat(x, a), bounds=(0.0, 50.0), method="bounded", options={"xatol": 1e-9}
            )
            return res.fun

        best = optimize.minimize_scalar(
            profile, bounds=(-5, 10), method="bounded", options={"xatol": 1e-8}
        )
        assert fp.norm[g] == pytest.approx(best.x, rel=5e-3)
        assert fp.stat[g] == pytest.approx(best.fun, abs=1e-3)
        assert fp.ts[g] == pytest.approx(profile(0.0) - best.fun, rel=1e-3)
        f_min = best.fun

        def rise(x, delta, profile=profile, f_min=f_min):
            return profile(x) - f_min - delta

        up = optimize.brentq(rise, best.x, 10, args=(1.0,))
        assert fp.norm[g] + fp.norm_errp[g] == pytest.approx(up, rel=5e-3)
        down = optimize.brentq(rise, -5, best.x, args=(1.0,))
        assert fp.norm[g] - fp.norm_errn[g] == pytest.approx(down, rel=5e-3)
        ul = optimize.brentq(rise, best.x, 10, args=(4.0,))
        assert fp.norm_ul[g] == pytest.approx(ul, rel=5e-3)
        assert fp.stat_scan[g] == pytest.approx([profile(v) for v in (0.5, 1.0, 2.0)], abs=2e-3)
        # more freedom: lower statistic than with the other source fixed
        assert fp.stat[g] <= fixed.stat[g] + 1e-6


def test_reoptimize_in_worker_processes(hess):
    """The general path's groups as tasks of a process pool give the serial results."""
    dataset, _, _ = two_source_setup(hess)
    kwargs = dict(
        energy_edges=[0.7, 5, 100] * u.TeV,
        source=SOURCE,
        selection_optional=["ul"],
        reoptimize=True,
    )
    serial = FluxPointsEstimator(**kwargs).run(dataset)
    pool = FluxPointsEstimator(n_jobs=2, parallel_backend="multiprocessing", **kwargs).run(dataset)
    for key in ("norm", "norm_err", "norm_ul", "ts", "npred"):
        assert pool.get_quantity(key) == pytest.approx(serial.get_quantity(key), rel=1e-9), key


def test_cash_spectrum_dataset(hess):
    """A SpectrumDataset with a known background (Cash): fast path = Fit per group."""
    from fluxfit.datasets import SpectrumDataset
    from fluxfit.estimators.core import dataset_arrays, snap_energy_edges

    kwargs = hess._init_kwargs()
    background = hess.background.copy()
    for key in ("counts_off", "acceptance", "acceptance_off", "counts_off_error"):
        kwargs.pop(key)
    dataset = SpectrumDataset(background=background, **kwargs)
    assert dataset.stat_type == "cash"
    dataset.models = hess.models
    estimator = FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all")
    fp = estimator.run(dataset)
    datasets = Datasets([dataset])
    arrays = [dataset_arrays(d, SOURCE) for d in datasets]
    snaps = [snap_energy_edges(a.energy_axis, EDGES) for a in arrays]
    general = estimator._run_general(datasets, arrays, snaps, SOURCE, 6)
    for key in NORM_KEYS + ("ts", "stat", "stat_null"):
        assert general[key] == pytest.approx(fp._data[key], rel=1e-3, abs=1e-4), key
    assert general["npred"] == pytest.approx(fp._data["npred"], rel=1e-3)
    assert fp.npred[:, 0] == pytest.approx(fp.counts[:, 0], rel=0.05, abs=0.5)


def test_pgstat_dataset_uses_general_path(hess):
    """A dataset whose statistic has no closed-form profile is fitted with Fit per group."""
    kwargs = hess._init_kwargs()
    kwargs["counts_off_error"] = np.sqrt(np.maximum(kwargs["counts_off"], 1.0))
    kwargs["name"] = "pg"
    dataset = SpectrumDatasetOnOff(**kwargs)
    assert dataset.stat_type == "pgstat"
    dataset.models = hess.models
    fp = FluxPointsEstimator(energy_edges=EDGES[:3], source=SOURCE, selection_optional=["ul"]).run(
        dataset
    )
    assert fp.success.all()
    assert fp.norm == pytest.approx([0.89, 1.15], rel=0.1)
    assert np.all(fp.norm_ul > fp.norm)


# ------------------------------------------------------------ outputs
@pytest.mark.parametrize("suffix", ["fits", "ecsv"])
@pytest.mark.parametrize("sed_type", ["likelihood", "dnde"])
def test_write_read_round_trip(fp_all, tmp_path, suffix, sed_type):
    path = tmp_path / f"hess_fp.{suffix}"
    fp_all.write(path, sed_type=sed_type, format="gadf-sed")
    back = FluxPoints.read(path, reference_model=fp_all.reference_model)
    for key in ("dnde", "dnde_err", "dnde_errn", "dnde_errp", "dnde_ul"):
        assert back.get_quantity(key).value == pytest.approx(
            fp_all.get_quantity(key).value, rel=1e-12
        )
    for key in ("ts", "counts", "npred", "npred_excess", "stat", "stat_null", "stat_scan"):
        assert np.asarray(back.get_quantity(key)) == pytest.approx(fp_all.get_quantity(key))
    assert back.is_ul.tolist() == fp_all.is_ul.tolist()
    assert back.energy_min.to_value("TeV") == pytest.approx(fp_all.energy_min.to_value("TeV"))
    with pytest.raises(Exception, match="exists"):
        fp_all.write(path, sed_type=sed_type)


def test_plots(fp_all, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for sed_type in ("dnde", "e2dnde", "flux", "eflux"):
        fig, ax = plt.subplots()
        fp_all.plot(ax=ax, sed_type=sed_type, energy_power=0)
        fig.savefig(tmp_path / f"fp_{sed_type}.png")
        plt.close(fig)
    fig, ax = plt.subplots()
    fp_all.plot_ts_profiles(ax=ax, sed_type="e2dnde")
    fp_all.plot(ax=ax, sed_type="e2dnde", color="k")
    fig.savefig(tmp_path / "fp_profiles.png")
    plt.close(fig)
    for name in ("fp_dnde", "fp_e2dnde", "fp_flux", "fp_eflux", "fp_profiles"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000


def test_estimator_str_and_copy():
    est = FluxPointsEstimator(energy_edges=EDGES, source=SOURCE, selection_optional="all")
    text = str(est)
    assert "FluxPointsEstimator" in text and "selection_optional" in text
    assert "sum_over_energy_groups" in text
    other = est.copy()
    other.norm.value = 2.0
    assert est.norm.value == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        repr(est)


# ------------------------------------------------------------- Fermi-LAT
@pytest.fixture(scope="module")
def fermi(data_dir, bestfit_models):
    map_module = pytest.importorskip("fluxfit.datasets.map")
    path = data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_data_Fermi-LAT.fits"
    dataset = map_module.MapDataset.read(path, name="Fermi-LAT")
    dataset.models = bestfit_models
    return dataset


def test_wf2_fermi_flux_points(fermi, wf2):
    """The 3FHL Crab MapDataset (Cash, background model): Gammapy's flux points to 1 %."""
    ref = wf2["fermi_flux_points"]
    edges = u.Quantity(ref["energy_edges_TeV"], "TeV")
    fp = FluxPointsEstimator(energy_edges=edges, source=SOURCE).run(fermi)
    table = fp.to_table(sed_type="dnde")
    assert table.colnames == ref["dnde"]["columns"]
    rows = ref["dnde"]["rows"]
    for key in ("e_min", "e_max", "e_ref"):
        assert table[key].quantity.to_value("TeV") == pytest.approx(
            column(rows, key).ravel(), rel=1e-6
        )
    for key in ("dnde", "dnde_err"):
        ours = table[key].quantity.to_value(ref["dnde"]["units"][key])
        assert ours == pytest.approx(column(rows, key).ravel(), rel=0.01), key
    for key in ("ts", "sqrt_ts", "stat", "stat_null", "npred", "npred_excess", "counts"):
        assert np.asarray(table[key], float).ravel() == approx(column(rows, key).ravel()), key


def test_wf4_fermi_reoptimize_false(fermi, wf4):
    ref = wf4["fermi_reoptimize_false"]
    edges = u.Quantity(ref["energy_edges_TeV"], "TeV")
    fp = FluxPointsEstimator(energy_edges=edges, source=SOURCE, **ref["kwargs"]).run(fermi)
    likelihood = fp.to_table(sed_type="likelihood")
    rows = ref["flux_points"]["rows"]
    for key in NORM_KEYS + ("ts", "stat", "stat_null", "npred", "npred_excess", "counts"):
        assert np.asarray(likelihood[key], float).ravel() == approx(column(rows, key).ravel()), key
    assert np.asarray(likelihood["is_ul"]).tolist() == [r["is_ul"] for r in rows]


def test_fermi_reoptimize_refits_background_norm(fermi):
    """reoptimize=True refits the FoV background norm per bin: checked against a direct
    profile over the background norm (which scales the background counts linearly)."""
    from scipy import optimize

    from fluxfit.estimators.core import dataset_arrays, snap_energy_edges
    from fluxfit.stats import cash_sum

    edges = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges
    bkg_norm = fermi.models["Fermi-LAT-bkg"].spectral_model.norm
    norm0 = bkg_norm.value
    fp = FluxPointsEstimator(
        energy_edges=edges, source=SOURCE, selection_optional=["ul"], reoptimize=True
    ).run(fermi)
    fixed = FluxPointsEstimator(energy_edges=edges, source=SOURCE).run(fermi)
    assert bkg_norm.value == norm0  # the dataset's models are untouched
    arrays = dataset_arrays(fermi, SOURCE)
    background = np.asarray(fermi.npred_background().data).reshape(arrays.shape) / norm0
    i0, i1, _ = snap_energy_edges(arrays.energy_axis, edges)
    for g in (0, 3):
        rows = slice(i0[g], i1[g] + 1)
        m = arrays.mask[rows]
        n = arrays.counts[rows][m]
        s = arrays.npred_source[rows][m]
        bkg = background[rows][m]
        rest = arrays.npred_other[rows][m] - norm0 * bkg  # other sources (none here)

        def profile(x, n=n, s=s, bkg=bkg, rest=rest):
            res = optimize.minimize_scalar(
                lambda a: float(cash_sum(n, x * s + a * bkg + rest)),
                bounds=(0.0, 100.0),  # without the source the background norm goes to ~20
                method="bounded",
                options={"xatol": 1e-10},
            )
            return res.fun

        best = optimize.minimize_scalar(
            profile, bounds=(0.0, 3.0), method="bounded", options={"xatol": 1e-9}
        )
        assert fp.norm[g] == pytest.approx(best.x, rel=2e-3)
        assert fp.stat[g] == pytest.approx(best.fun, abs=1e-2)
        assert fp.ts[g] == pytest.approx(profile(0.0) - best.fun, rel=1e-3)
        ul = optimize.brentq(lambda x, f=best.fun, p=profile: p(x) - f - 4.0, best.x, 5.0)
        assert fp.norm_ul[g] == pytest.approx(ul, rel=2e-3)
        assert fp.ts[g] < fixed.ts[g]  # the refitted background absorbs part of the source


def test_fermi_without_masks(fermi):
    """A map dataset with no mask at all: every bin is fitted (fast and general paths)."""
    dataset = fermi.copy(name="Fermi-LAT")
    dataset.mask_safe = None
    assert dataset.mask is None
    edges = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5).edges
    fast = FluxPointsEstimator(energy_edges=edges, source=SOURCE).run(dataset)
    total = np.asarray(dataset.counts.data).reshape(5, -1).sum(axis=1)
    assert fast.counts[:, 0] == pytest.approx(total)
    general = FluxPointsEstimator(energy_edges=edges, source=SOURCE, reoptimize=True).run(dataset)
    assert general.counts[:, 0] == pytest.approx(total)
    assert general.success.all()
