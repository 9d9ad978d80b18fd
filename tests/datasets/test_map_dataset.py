"""`MapDataset` on the Fermi-LAT 3FHL Crab dataset, against Gammapy 2.1.

References: ``../shared/reference/gammapy/wf2_joint_crab.json`` (``dataset_info``,
``stat_at_start_values``, ``fermi_only_fit_ncall20000``). Predicted-count totals at the
YAML start models were computed with Gammapy 2.1 in the bench venv (its
``MapDataset.npred_signal`` / ``npred_background``) and are copied here.

Tolerances: start statistic 1e-6 relative (it pins npred down; we agree to 3e-9),
predicted counts 1e-6 relative (Gammapy convolves in float32), fit values 1 %.
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from fluxfit.datasets import Datasets
from fluxfit.datasets.map import MapDataset
from fluxfit.fit import Fit, Objective
from fluxfit.models import (
    FoVBackgroundModel,
    GaussianSpatialModel,
    Models,
    PowerLawSpectralModel,
    SkyModel,
)

GAMMAPY_NPRED_SIGNAL = [
    1800.074575141448,
    566.254944511278,
    152.848533741314,
    37.647077636045,
    7.058942930043,
]
GAMMAPY_NPRED_BACKGROUND = 413.90307971471077


@pytest.fixture(scope="module")
def wf2(reference_dir):
    return json.loads((reference_dir / "gammapy/wf2_joint_crab.json").read_text())


@pytest.fixture(scope="module")
def crab_dir(data_dir):
    return data_dir / "gammapy-data/fermi-3fhl-crab"


def read_crab(crab_dir, **kwargs):
    dataset = MapDataset.read(crab_dir / "Fermi-LAT-3FHL_data_Fermi-LAT.fits", name="Fermi-LAT")
    dataset.models = Models.read(crab_dir / "Fermi-LAT-3FHL_models.yaml")
    for key, value in kwargs.items():
        setattr(dataset, key, value)
    return dataset


def test_dataset_facts(crab_dir, wf2):
    info = wf2["dataset_info"]["Fermi-LAT"]
    dataset = MapDataset.read(crab_dir / "Fermi-LAT-3FHL_data_Fermi-LAT.fits")
    assert dataset.name == "Fermi-LAT-3FHL_data_Fermi-LAT"  # no NAME keyword: the file name
    assert list(dataset.data_shape) == info["counts_shape"]
    assert float(dataset.counts.data.sum()) == info["counts"]
    assert int(dataset.mask.data.sum()) == info["n_fit_bins"]
    edges = dataset.energy_axis.edges.to_value("GeV")
    assert np.allclose(edges, info["energy_edges_GeV"], rtol=1e-6)
    assert dataset.exposure.unit.is_equivalent("cm2 s")
    assert dataset.psf.has_single_spatial_bin is False


def test_stat_at_start_values(crab_dir, wf2):
    dataset = read_crab(crab_dir)
    reference = wf2["stat_at_start_values"]["Fermi-LAT"]
    assert dataset.stat_sum() == pytest.approx(reference, rel=1e-6)
    # Gammapy's log-log trapezoid integration gives the same number too
    dataset.integration = "gammapy"
    assert dataset.stat_sum() == pytest.approx(reference, rel=1e-6)


def test_npred_matches_gammapy(crab_dir):
    dataset = read_crab(crab_dir)
    signal = dataset.npred_signal().data.sum(axis=(1, 2))
    # exact integrals are 3.6e-6 above Gammapy's 100-per-decade log-log trapezoids
    assert np.allclose(signal, GAMMAPY_NPRED_SIGNAL, rtol=5e-6)
    dataset.integration = "gammapy"
    signal = dataset.npred_signal().data.sum(axis=(1, 2))
    assert np.allclose(signal, GAMMAPY_NPRED_SIGNAL, rtol=2e-7)  # float32 convolution
    background = dataset.npred_background().data.sum()
    assert background == pytest.approx(GAMMAPY_NPRED_BACKGROUND, rel=1e-9)
    npred = dataset.npred()
    assert npred.data.sum() == pytest.approx(sum(GAMMAPY_NPRED_SIGNAL) + background, rel=1e-6)
    per_model = dataset.npred_signal(model_names=["Crab Nebula"], stack=False)
    assert np.allclose(per_model[0].data, dataset.npred_signal().data)
    # the statistic from the maps equals the fast path
    mask = dataset.mask.data
    stat_map = dataset.stat_array().data
    assert stat_map[mask].sum() == pytest.approx(dataset.stat_sum(), rel=1e-12)


def test_fermi_only_fit(crab_dir, wf2):
    dataset = read_crab(crab_dir)
    result = Fit(optimize_opts={"ncall": 20000}).run(dataset)
    assert result.success, result.message
    ref = wf2["fermi_only_fit_ncall20000"]
    spectral = dataset.models["Crab Nebula"].spectral_model
    for name in ("amplitude", "alpha", "beta"):
        expected = ref["crab_spectral_params"][name]["value"]
        assert spectral.parameters[name].value == pytest.approx(expected, rel=0.01), name
    norm = dataset.models["Fermi-LAT-bkg"].spectral_model.norm
    assert norm.value == pytest.approx(ref["all_params"]["Fermi-LAT-bkg"]["spectral.norm"]["value"],
                                       rel=0.01)  # fmt: skip
    assert result.total_stat == pytest.approx(ref["fit"]["total_stat"], abs=1e-3)


def test_batch_equals_single_calls(crab_dir):
    dataset = read_crab(crab_dir)
    objective = Objective(Datasets([dataset]))
    start = objective.x_to_values(objective.start_x)
    values = start * (1 + 0.01 * np.random.default_rng(1).standard_normal((6, start.size)))
    batch = objective.batch(values)
    single = np.array([objective.stat_values(v) for v in values])
    assert np.allclose(batch, single, rtol=1e-12, atol=1e-8)


def test_batch_is_chunked(crab_dir, monkeypatch):
    import fluxfit.datasets.map as map_module

    dataset = read_crab(crab_dir)
    objective = Objective(Datasets([dataset]))
    start = objective.x_to_values(objective.start_x)
    values = start * (1 + 0.01 * np.random.default_rng(2).standard_normal((9, start.size)))
    full = objective.batch(values)
    monkeypatch.setattr(map_module, "_BATCH_ELEMENTS", 2000)  # ~1 row per chunk
    assert np.allclose(objective.batch(values), full, rtol=1e-13)


def test_spatial_cache_only_recomputed_when_needed(crab_dir, monkeypatch):
    dataset = read_crab(crab_dir)
    dataset.stat_sum()
    spatial = dataset.models["Crab Nebula"].spatial_model
    calls = []
    original = type(spatial).integrate_geom

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(spatial), "integrate_geom", counting)
    spectral = dataset.models["Crab Nebula"].spectral_model
    for factor in (1.01, 1.02, 1.03):
        spectral.alpha.value *= factor
        dataset.stat_sum()
    assert not calls
    spatial.lon_0.value += 0.05  # moved within the cutout margin: same kernels, new image
    dataset.stat_sum()
    assert len(calls) == 1


def test_model_moving_far_updates_kernels(crab_dir):
    dataset = read_crab(crab_dir)
    dataset.stat_sum()
    evaluator = dataset._fit_state().evaluators["Crab Nebula"]
    before = evaluator._support
    spatial = dataset.models["Crab Nebula"].spatial_model
    spatial.lon_0.value += 0.5
    dataset.stat_sum()
    assert evaluator._support is not before
    assert evaluator._support.position[0] == pytest.approx(spatial.lon_0.value)


def test_extended_source_fit_and_spatial_batch(crab_dir):
    dataset = MapDataset.read(crab_dir / "Fermi-LAT-3FHL_data_Fermi-LAT.fits", name="Fermi-LAT")
    source = SkyModel(
        PowerLawSpectralModel(index=2.0, amplitude="1e-11 cm-2 s-1 TeV-1", reference="0.1 TeV"),
        GaussianSpatialModel(lon_0="83.7 deg", lat_0="22.05 deg", sigma="0.2 deg", frame="icrs"),
        name="gauss",
    )
    dataset.models = Models([source, FoVBackgroundModel("Fermi-LAT")])
    objective = Objective(Datasets([dataset]))
    start = objective.x_to_values(objective.start_x)
    values = start * (1 + 0.002 * np.random.default_rng(5).standard_normal((4, start.size)))
    batch = objective.batch(values)
    single = np.array([objective.stat_values(v) for v in values])
    # rows share the cutout's sub-pixel box: agreement to ~1e-10 relative
    assert np.allclose(batch, single, rtol=1e-10)
    objective.set_values(start)
    Fit().optimize(dataset)
    spatial = source.spatial_model
    crab = SkyCoord(83.633, 22.0145, unit="deg")
    assert spatial.position.separation(crab).deg < 0.05
    assert spatial.sigma.value < 0.1  # the Crab is point-like for the LAT


def test_fake_and_refit(crab_dir):
    dataset = read_crab(crab_dir)
    models = dataset.models
    truth = {p: p.value for p in models.parameters.free_parameters}
    dataset.fake(random_state=42)
    assert dataset.counts.data.sum() == pytest.approx(dataset.npred().data.sum(), rel=0.05)
    result = Fit(optimize_opts={"ncall": 20000}).run(dataset)
    assert result.success
    norm = models["Fermi-LAT-bkg"].spectral_model.norm
    assert abs(norm.value - truth[norm]) < 4 * norm.error


def test_write_read_roundtrip(crab_dir, tmp_path, reference_dir):
    from astropy.io import fits

    dataset = read_crab(crab_dir)
    path = tmp_path / "Fermi-LAT.fits"
    dataset.write(path)
    back = MapDataset.read(path)
    assert back.name == "Fermi-LAT"
    back.models = dataset.models
    assert back.stat_sum() == dataset.stat_sum()
    ours = [h.name for h in fits.open(path)]
    gammapy = [h.name for h in fits.open(reference_dir / "gammapy/wf2_roundtrip/Fermi-LAT.fits")]
    assert ours == gammapy
    with pytest.raises(FileExistsError):
        dataset.write(path)
    dataset.write(path, overwrite=True)


def test_slice_downsample_cutout_stack(crab_dir):
    dataset = read_crab(crab_dir)
    sliced = dataset.slice_by_idx({"energy": slice(1, 4)})
    assert sliced.data_shape == (3, 40, 50)
    assert sliced.exposure.geom.data_shape == (5, 40, 50)
    assert sliced.counts.data.sum() == dataset.counts.data[1:4].sum()
    sliced.models = dataset.models
    assert np.isfinite(sliced.stat_sum())
    down = dataset.downsample(2)
    assert down.data_shape == (5, 20, 25)
    safe = dataset.mask_safe.data
    assert down.counts.data.sum() == pytest.approx(dataset.counts.data[safe].sum())
    assert down.exposure.data.mean() == pytest.approx(dataset.exposure.data.mean(), rel=1e-6)
    down.models = dataset.models
    assert np.isfinite(down.stat_sum())
    energy = dataset.downsample(5, axis_name="energy")
    assert energy.data_shape == (1, 40, 50)
    cut = dataset.cutout(SkyCoord(83.63, 22.01, unit="deg"), 2 * u.deg)
    assert cut.data_shape == (5, 20, 20)
    stacked = dataset.stack(dataset)
    # Gammapy's rule: the other dataset's counts inside its safe mask are added
    total = dataset.counts.data.sum() + dataset.counts.data[safe].sum()
    assert stacked.counts.data.sum() == pytest.approx(total)
    safe_image = dataset.mask_safe_image.data
    factor = np.where(safe_image, 2.0, 1.0)  # exposure added where the pixel has safe bins
    assert np.allclose(stacked.exposure.data, factor * dataset.exposure.data)
    stacked.models = Models.read(crab_dir / "Fermi-LAT-3FHL_models.yaml")
    assert np.isfinite(stacked.stat_sum())
    empty = MapDataset.create(dataset.counts.geom, name="empty")
    assert empty.mask_safe.data.sum() == 0
    assert empty.stack(dataset).counts.data.sum() == pytest.approx(dataset.counts.data[safe].sum())


def test_info_and_residuals(crab_dir):
    dataset = read_crab(crab_dir)
    info = dataset.info_dict()
    assert info["counts"] == 2932.0  # inside the safe mask (3004 in all bins)
    assert dataset.info_dict(in_safe_data_range=False)["counts"] == 3004.0
    assert info["n_fit_bins"] == 8280
    assert info["npred"] == pytest.approx(info["npred_signal"] + info["background"])
    residuals = dataset.residuals("diff/sqrt(model)")
    assert np.isfinite(residuals.data[dataset.mask.data]).all()
    assert "Fermi-LAT" in str(dataset)


def test_npred_fit_vector_matches_maps(crab_dir):
    dataset = read_crab(crab_dir)
    dataset.stat_sum()  # fills the statistic's caches first
    mask = dataset.mask.data
    assert np.allclose(dataset._npred_fit(), dataset.npred().data[mask], rtol=1e-12)
    dataset.models["Fermi-LAT-bkg"].spectral_model.norm.value = 0.5
    assert np.allclose(dataset._npred_fit(), dataset.npred().data[mask], rtol=1e-12)


def test_spatial_batch_rows_beyond_the_cutout(crab_dir):
    """Rows moving a source by more than its radius + 0.1 deg are evaluated row by row."""
    from fluxfit.models import PointSpatialModel

    dataset = read_crab(crab_dir)
    second = SkyModel(
        PowerLawSpectralModel(index=2.5, amplitude="1e-12 cm-2 s-1 TeV-1"),
        PointSpatialModel(lon_0="186.0 deg", lat_0="-7.0 deg", frame="galactic"),
        name="second",
    )
    dataset.models = Models(list(dataset.models) + [second])
    objective = Objective(Datasets([dataset]))
    start = objective.x_to_values(objective.start_x)
    values = start * (1 + 3e-3 * np.random.default_rng(0).standard_normal((5, start.size)))
    batch = objective.batch(values)
    single = np.array([objective.stat_values(v) for v in values])
    assert np.allclose(batch, single, rtol=1e-13)
    objective.set_values(start)
    lon = second.spatial_model.lon_0
    npred = dataset._npred_fit({lon: np.array([[186.0], [186.5]])})
    lon.value = 186.5
    assert np.allclose(npred[1], dataset._npred_fit(), rtol=1e-13)
