"""Spectrum datasets on real data: H.E.S.S. ON/OFF runs, their stack, and 3ML's seed-000 spectra.

Tolerances: stacked arrays to float32 precision (the reference file stores float32);
the W-stat at the start model within 1e-3 (Gammapy integrates the model numerically,
we exactly); 3ML log-likelihood differences to 1e-6 relative with Simpson integration
(3ML's rule) and 1e-4 with exact integration; the MLE within 1 % in values and 5 % in errors.
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from fluxfit.cli.demo import build_seed000_models
from fluxfit.datasets import Datasets, SpectrumDataset, SpectrumDatasetOnOff
from fluxfit.errors import DatasetError
from fluxfit.fit import Fit
from fluxfit.models import Models

HESS = "gammapy-data/joint-crab/spectra/hess"


def threeml_label(key: str) -> str:
    return key.replace("src1.spectrum.main.Blackbody.", "src1.spectral.").replace(
        "src2.spectrum.main.composite.", "src2.spectral."
    )


@pytest.fixture(scope="module")
def hess_runs(data_dir):
    return Datasets(
        [SpectrumDatasetOnOff.read(data_dir / HESS / f"pha_obs{n}.fits") for n in (23523, 23526)]
    )


@pytest.fixture(scope="module")
def task1(reference_dir):
    return json.loads((reference_dir / "threeml/task1_multisource.json").read_text())


def read_task1(reference_dir, integration="exact"):
    return Datasets(
        [
            SpectrumDatasetOnOff.read(
                reference_dir / f"threeml/task1_{name}.pha",
                spectrum_number=1,
                name=name,
                integration=integration,
            )
            for name in ("s1", "s2")
        ]
    )


def test_hess_runs_read(hess_runs):
    first, second = hess_runs
    assert first.name == "pha_obs23523" and second.name == "pha_obs23526"
    assert first.stat_type == "wstat"
    # all channels: the numbers Gammapy reports for these files
    assert first.counts.sum() == 189 and first.counts_off.sum() == 229
    assert second.counts.sum() == 199 and second.counts_off.sum() == 217
    assert first.mask_safe.sum() == 41 and second.mask_safe.sum() == 43
    assert np.allclose(first.alpha, 1 / 12)
    assert first.livetime == pytest.approx(1581.736758410931)


def test_stack_reduce_reproduces_gammapy(hess_runs, reference_dir, data_dir):
    stacked = hess_runs.stack_reduce(name="HESS")
    assert stacked.name == "HESS"
    ref = fits.open(reference_dir / "gammapy/wf2_hess_stacked.fits")

    def column(hdu):
        return np.asarray(ref[hdu].data["DATA"], dtype=float).ravel()

    assert np.array_equal(column("COUNTS"), stacked.counts)
    assert np.array_equal(column("COUNTS_OFF"), stacked.counts_off)
    assert np.array_equal(column("ACCEPTANCE"), stacked.acceptance)
    assert np.allclose(column("ACCEPTANCE_OFF"), stacked.acceptance_off, rtol=1e-6)
    exposure_ref = column("EXPOSURE") * 1e4  # m2 s -> cm2 s
    assert np.allclose(exposure_ref, stacked.exposure.to_value("cm2 s"), rtol=1e-6, atol=1e-3)
    edisp_ref = np.asarray(ref["EDISP"].data["DATA"], dtype=float).reshape(80, 80)
    assert np.allclose(edisp_ref, stacked.edisp.to_dense(), atol=1e-6)
    assert np.array_equal(np.asarray(ref["MASK_SAFE"].data["DATA"]).ravel(), stacked.mask_safe)
    info = stacked.info_dict()
    assert info["counts"] == 250 and info["counts_off"] == 195
    assert info["excess"] == pytest.approx(233.75)
    # the statistic with the Fermi YAML's start model (Gammapy: 42.52543844398359)
    stacked.models = Models.read(
        data_dir / "gammapy-data/fermi-3fhl-crab/Fermi-LAT-3FHL_models.yaml"
    )
    assert stacked.stat_sum() == pytest.approx(42.52543844398359, abs=1e-3)


@pytest.mark.parametrize("integration, rtol", [("simpson", 1e-6), ("exact", 1e-4)])
def test_threeml_loglike_anchors(reference_dir, task1, integration, rtol):
    anchors = task1["loglike_anchors"]
    datasets = read_task1(reference_dir, integration)
    models = build_seed000_models()
    datasets.models = models

    def stats_at(values):
        for key, value in values.items():
            models.parameters[threeml_label(key)].value = value
        return datasets.stat_sums()

    start = stats_at(anchors["start_values"])
    truth = stats_at(anchors["truth_values"])
    for name in ("s1", "s2"):
        ours = -(truth[name] - start[name]) / 2
        theirs = anchors["log_like_at_truth"][name] - anchors["log_like_at_start_values"][name]
        assert ours == pytest.approx(theirs, rel=rtol)


def test_threeml_mle(reference_dir, task1):
    mle = task1["mle"]
    datasets = read_task1(reference_dir)
    models = build_seed000_models()
    datasets.models = models
    for key, value in task1["loglike_anchors"]["start_values"].items():
        models.parameters[threeml_label(key)].value = value
    result = Fit().run(datasets)
    assert result.success, result.message
    for key, ref in mle["best_fit"].items():
        par = models.parameters[threeml_label(key)]
        assert par.value == pytest.approx(ref["value"], rel=0.01), key
        assert par.error == pytest.approx(ref["error"], rel=0.05), key
    # the linked temperature follows
    assert models["src1"].spectral_model.kT.value == models["src2"].spectral_model.kT_1.value


def test_source_assignment(reference_dir):
    datasets = read_task1(reference_dir)
    datasets.models = build_seed000_models()
    assert datasets["s1"].models.names == ["src1"]
    assert datasets["s2"].models.names == ["src2"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simulate_then_fit_seed000(data_dir, seed):
    """3ML's DispersionSpectrumLike.from_function workflow: injected values recovered."""
    from fluxfit.models import BlackbodySpectralModel, PowerLawFluxSpectralModel
    from fluxfit.models import PowerLawSpectralModel as PL

    response = data_dir / "threeml/ogip_powerlaw.rsp"
    rng = np.random.default_rng(seed)
    background = PL(index=1.5, amplitude=1 * u.Unit("cm-2 s-1 keV-1"), reference=1 * u.MeV)
    s1 = SpectrumDatasetOnOff.from_function(
        "s1", BlackbodySpectralModel(K=5e-8, kT=500 * u.keV), background, response, random_state=rng
    )
    source2 = BlackbodySpectralModel(K=1e-7, kT=500 * u.keV) + PowerLawFluxSpectralModel(
        F=200, index=-1.5, a=10 * u.keV, b=500 * u.keV
    )
    s2 = SpectrumDatasetOnOff.from_function("s2", source2, background, response, random_state=rng)
    datasets = Datasets([s1, s2])
    models = build_seed000_models()
    datasets.models = models
    result = Fit().run(datasets)
    assert result.success, result.message
    truth = {
        "src1.spectral.K": 5e-8,
        "src2.spectral.K_1": 1e-7,
        "src2.spectral.kT_1": 500.0,
        "src2.spectral.F_2": 200.0,
        "src2.spectral.index_2": -1.5,
    }
    for label, value in truth.items():
        par = models.parameters[label]
        assert abs(par.value - value) < 3 * par.error, (label, par.value, par.error)


def test_set_active_measurements_threeml_semantics(reference_dir):
    dataset = read_task1(reference_dir)["s1"]
    edges = dataset.edisp.energy_edges.to_value("keV")
    dataset.set_active_measurements("10-30", "40-900")
    mask = dataset.mask_fit
    # a channel is kept when it overlaps a range (channels holding a boundary included)
    expected = ((edges[1:] > 10) & (edges[:-1] < 30)) | ((edges[1:] > 40) & (edges[:-1] < 900))
    assert np.array_equal(mask, expected)
    assert mask.sum() < mask.size
    dataset.set_active_measurements("c0-c9")
    assert dataset.mask_fit.sum() == 10
    with pytest.raises(DatasetError):
        dataset.set_active_measurements("1e9-2e9")
    with pytest.raises(DatasetError, match="cannot parse"):
        dataset.set_active_measurements("ten-twenty")


def test_batch_equals_loop(reference_dir):
    datasets = read_task1(reference_dir)
    models = build_seed000_models()
    datasets.models = models
    from fluxfit.fit import Objective

    objective = Objective(datasets)
    rng = np.random.default_rng(0)
    start = objective.x_to_values(objective.start_x)
    values = start * rng.uniform(0.5, 1.5, size=(7, start.size))
    values[:, 2] = rng.uniform(100, 800, size=7)  # kT
    values[:, 4] = rng.uniform(-2, -1, size=7)  # index
    batch = objective.batch(values)
    loop = [objective.stat_values(v) for v in values]
    assert np.allclose(batch, loop, rtol=1e-10)


def test_ogip_round_trip_keeps_masks(hess_runs, tmp_path):
    dataset = hess_runs[0].copy(name="run")
    mask_fit = dataset.mask_safe.copy()
    mask_fit[:45] = False
    dataset.mask_fit = mask_fit
    dataset.write(tmp_path / "run.fits")
    again = SpectrumDatasetOnOff.read(tmp_path / "run.fits")
    assert again.name == "run"
    for attr in ("counts", "counts_off", "acceptance", "acceptance_off", "mask_safe", "mask_fit"):
        assert np.array_equal(getattr(again, attr), getattr(dataset, attr)), attr
    assert np.allclose(again.exposure, dataset.exposure, rtol=1e-12)
    assert np.allclose(again.edisp.to_dense(), dataset.edisp.to_dense())
    models = Models([_crab_model()])
    dataset.models = models
    again.models = models
    assert again.stat_sum() == pytest.approx(dataset.stat_sum(), rel=1e-12)


def _crab_model():
    from fluxfit.models import LogParabolaSpectralModel, SkyModel

    return SkyModel(
        LogParabolaSpectralModel(
            amplitude="3.5e-11 cm-2 s-1 TeV-1", reference=1 * u.TeV, alpha=2.5, beta=0.1
        ),
        name="crab",
    )


def test_fake_and_fit_cash_dataset():
    """Known-background Cash dataset simulated and fitted (ideal dispersion)."""
    from fluxfit.irf import EnergyDispersionMatrix
    from fluxfit.models import PowerLawSpectralModel, SkyModel

    edges = np.geomspace(0.5, 50, 31) * u.TeV
    edisp = EnergyDispersionMatrix(edges, edges, np.eye(30))
    dataset = SpectrumDataset(
        exposure=np.full(30, 3e10), edisp=edisp, background=np.full(30, 2.0), name="sim"
    )
    truth = PowerLawSpectralModel(index=2.3, amplitude="2e-11 cm-2 s-1 TeV-1")
    dataset.models = Models([SkyModel(truth, name="src")])
    dataset.fake(random_state=5)
    fitted = PowerLawSpectralModel(index=2.0, amplitude="1e-11 cm-2 s-1 TeV-1")
    dataset.models = Models([SkyModel(fitted, name="src")])
    result = Fit().run(dataset)
    assert result.success
    assert abs(fitted.index.value - 2.3) < 3 * fitted.index.error
    assert dataset.stat_type == "cash"
    part = dataset.slice_by_energy(1 * u.TeV, 10 * u.TeV)
    assert part.n_channels == 15
    assert part.counts.sum() == dataset.counts[part_indices(dataset, 1, 10)].sum()


def part_indices(dataset, emin, emax):
    edges = dataset.edisp.energy_edges.to_value("TeV")
    centers = np.sqrt(edges[:-1] * edges[1:])
    return (centers >= emin) & (centers < emax)


def test_pgstat_dataset_from_gaussian_background(tmp_path):
    """A GBM-like spectrum: background with STAT_ERR and POISSERR = F gives PG-stat."""
    from fluxfit.datasets.ogip import RMF, PHASpectrum, write_ogip
    from fluxfit.irf import EnergyDispersionMatrix

    edges = np.geomspace(10, 1000, 21) * u.keV
    matrix = np.eye(20) * 100.0  # an RSP: area included (cm2)
    rmf = RMF.from_edisp(EnergyDispersionMatrix(edges, edges, matrix), includes_effective_area=True)
    rng = np.random.default_rng(1)
    counts = rng.poisson(50, size=20).astype(float)
    source = PHASpectrum(channels=np.arange(1, 21), counts=counts, exposure=10.0)
    background = PHASpectrum(
        channels=np.arange(1, 21),
        counts=np.full(20, 40.0),
        exposure=10.0,
        is_poisson=False,
        stat_err=np.full(20, 3.0),
    )
    write_ogip(tmp_path / "gbm.pha", source, background=background, rmf=rmf)
    dataset = SpectrumDatasetOnOff.read(tmp_path / "gbm.pha")
    assert dataset.stat_type == "pgstat"
    assert np.allclose(dataset.exposure.to_value("cm2 s"), 1000.0)
    from fluxfit.models import PowerLawSpectralModel, SkyModel

    dataset.models = Models(
        [
            SkyModel(
                PowerLawSpectralModel(
                    index=2, amplitude="1e-3 cm-2 s-1 keV-1", reference=100 * u.keV
                ),
                name="grb",
            )
        ]
    )
    assert np.isfinite(dataset.stat_sum())
    result = Fit().run(dataset)
    assert result.success


def test_no_background_gives_cash_dataset(reference_dir):
    dataset = SpectrumDatasetOnOff.read(
        reference_dir / "threeml/task1_s1.pha", spectrum_number=1, background=False
    )
    assert type(dataset) is SpectrumDataset and dataset.stat_type == "cash"


def test_bad_inputs_are_named():
    from fluxfit.irf import EnergyDispersionMatrix

    edges = np.geomspace(1, 10, 4) * u.TeV
    edisp = EnergyDispersionMatrix(edges, edges, np.eye(3))
    with pytest.raises(DatasetError, match="counts has shape"):
        SpectrumDataset(counts=np.ones(4), exposure=np.ones(3), edisp=edisp, name="x")
    with pytest.raises(DatasetError, match=r"counts\[1\] = nan"):
        SpectrumDataset(counts=[1, np.nan, 1], exposure=np.ones(3), edisp=edisp, name="x")
    with pytest.raises(DatasetError, match="negative"):
        SpectrumDataset(counts=[1, -1, 1], exposure=np.ones(3), edisp=edisp, name="x")


def test_grouping_preserves_totals(hess_runs):
    run = hess_runs[0]
    grouped = run.group_by_counts(5)
    assert grouped.n_channels < run.n_channels
    assert grouped.counts.sum() == run.counts.sum()
    assert grouped.counts_off.sum() == run.counts_off.sum()
    assert grouped.background.sum() == pytest.approx(run.background.sum())
    # the response summed over channels is unchanged
    assert np.allclose(grouped.edisp.to_dense().sum(1), run.edisp.to_dense().sum(1))
    # a group is safe only if all its channels are
    coarse = run.group_by_edges(np.geomspace(0.5, 100, 8) * u.TeV)
    assert coarse.n_channels <= 9
    assert coarse.mask_safe.sum() < coarse.n_channels
    with pytest.raises(DatasetError, match="consecutive"):
        run.group(np.r_[np.zeros(40), np.ones(20), np.zeros(20)])
    with pytest.raises(DatasetError, match="no GROUPING"):
        run.group_ogip()
