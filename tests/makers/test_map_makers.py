"""MapDatasetMaker, SafeMaskMaker and FoVBackgroundMaker on map datasets, against Gammapy 2.1.

H.E.S.S. DR1 Crab run 23523 on Gammapy's MapDatasetMaker docstring geometry (2 x 2 deg, 0.02
deg pixels, 4 energy bins 1-10 TeV, 10 true-energy bins 0.5-20 TeV); reference numbers in
tests/makers/gammapy_makers_reference.json (``map``, written by bench/refgen/make_gammapy_makers_reference.py).
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from regions import CircleSkyRegion

from fluxfit.datasets.map import MapDataset
from fluxfit.errors import DatasetError
from fluxfit.makers import FoVBackgroundMaker, MapDatasetMaker, SafeMaskMaker
from fluxfit.maps import MapAxis, WcsGeom

pytestmark = pytest.mark.data

CRAB = SkyCoord(83.633, 22.014, unit="deg")
ENERGY_AXIS = MapAxis.from_energy_bounds(1.0, 10.0, 4, unit="TeV")
ENERGY_AXIS_TRUE = MapAxis.from_energy_bounds(0.5, 20, 10, unit="TeV", name="energy_true")


@pytest.fixture(scope="module")
def map_setup(hess_store_makers, makers_reference):
    obs = hess_store_makers.obs(23523)
    geom = WcsGeom.create(
        skydir=(83.633, 22.014),
        binsz=0.02,
        width=(2, 2),
        frame="icrs",
        proj="CAR",
        axes=[ENERGY_AXIS],
    )
    empty = MapDataset.create(geom=geom, energy_axis_true=ENERGY_AXIS_TRUE, name="empty")
    dataset = MapDatasetMaker().run(empty, obs)
    return obs, geom, empty, dataset, makers_reference["map"]


def test_counts_and_exposure(map_setup):
    _obs, _geom, _, dataset, ref = map_setup
    counts = dataset.counts.data
    nonzero = np.nonzero(counts)
    assert [list(map(int, idx)) for idx in zip(*nonzero)] == ref["counts_nonzero"]
    assert counts[nonzero].astype(int).tolist() == ref["counts_values"]
    assert counts.sum() == 787  # Gammapy's docstring
    exposure = dataset.exposure.quantity.to_value("m2 s")
    np.testing.assert_allclose(exposure[..., ::7, ::7], ref["exposure_sample_m2s"], rtol=1e-12)
    assert exposure.sum() == pytest.approx(ref["exposure_sum_m2s"], rel=1e-12)
    assert dataset.exposure.meta["livetime"].to_value("s") == pytest.approx(ref["livetime_s"])
    assert dataset.mask_safe.data.all() and ref["mask_safe_all"]
    assert dataset.meta_table["OBS_ID"][0] == 23523
    assert dataset.gti.start.size == 1


def test_background(map_setup):
    *_, dataset, ref = map_setup
    background = dataset.background.data
    np.testing.assert_allclose(background.sum(axis=(1, 2)), ref["background_sum"], rtol=1e-6)
    np.testing.assert_allclose(background[..., ::7, ::7], ref["background_sample"], rtol=1e-5)


def test_psf_and_edisp_maps(map_setup):
    *_, dataset, ref = map_setup
    psf = dataset.psf
    assert list(psf.psf_map.geom.data_shape) == ref["psf_geom_shape"]
    for (j, i), values in zip(((0, 0), (5, 5), (9, 3)), ref["psf_values_pixels"]):
        np.testing.assert_allclose(psf.psf_map.data[:, :, j, i], values, rtol=1e-10, atol=1e-12)
    assert psf.exposure_map.quantity.to_value("m2 s").sum() == pytest.approx(
        ref["psf_exposure_sum_m2s"], rel=1e-12
    )
    radius = psf.containment_radius(0.68, ENERGY_AXIS_TRUE.center, CRAB).to_value("deg")
    np.testing.assert_allclose(radius, ref["psf_containment_radius_center_deg"], atol=3e-4)
    edisp = dataset.edisp
    assert list(edisp.geom.data_shape) == ref["edisp_geom_shape"]
    corner = SkyCoord(82.9, 21.4, unit="deg")
    np.testing.assert_allclose(edisp.get_edisp_kernel(CRAB), ref["edisp_kernel_center"], atol=1e-13)
    np.testing.assert_allclose(
        edisp.get_edisp_kernel(corner), ref["edisp_kernel_corner"], atol=1e-13
    )
    assert edisp.exposure_map.quantity.to_value("m2 s").sum() == pytest.approx(
        ref["edisp_exposure_sum_m2s"], rel=1e-12
    )


@pytest.mark.parametrize(
    "label, kwargs",
    [
        ("offset-max-0.8", dict(methods=["offset-max"], offset_max="0.8 deg")),
        ("aeff-default", dict(methods=["aeff-default"])),
        ("aeff-max", dict(methods=["aeff-max"], aeff_percent=10)),
        (
            "aeff-max-position",
            dict(methods=["aeff-max"], aeff_percent=40, position=SkyCoord(83.0, 22.5, unit="deg")),
        ),
        ("edisp-bias", dict(methods=["edisp-bias"], bias_percent=10)),
        ("bkg-peak", dict(methods=["bkg-peak"])),
    ],
)
def test_safe_mask_on_maps(map_setup, label, kwargs):
    obs, *_, dataset, ref = map_setup
    mask = SafeMaskMaker(**kwargs).run(dataset.copy(name=label), obs).mask_safe.data
    assert mask.sum(axis=(1, 2)).tolist() == ref["safe_masks"][label]["per_energy"]
    assert mask[..., ::7, ::7].astype(int).tolist() == ref["safe_masks"][label]["sample"]


@pytest.mark.parametrize("method", ["scale", "fit"])
def test_fov_background(map_setup, method):
    """Background norm outside a 0.3 deg exclusion circle around the Crab."""
    _, geom, _, dataset, ref = map_setup
    exclusion = geom.to_image().region_mask([CircleSkyRegion(CRAB, 0.3 * u.deg)], inside=False)
    result = FoVBackgroundMaker(method=method, exclusion_mask=exclusion).run(
        dataset.copy(name=f"fov-{method}")
    )
    model = result.models[f"fov-{method}-bkg"].spectral_model
    expected = ref["fov_background"][method]
    # with only the norm free, the Cash maximum is sum(counts) / sum(background): the
    # "scale" value; Gammapy's migrad stops 1e-4 away from it (its tolerance)
    scale = ref["fov_background"]["scale"]
    assert model.norm.value == pytest.approx(scale["norm"], rel=1e-7)
    assert model.norm.value == pytest.approx(expected["norm"], rel=2e-4)
    assert model.norm.error == pytest.approx(expected["norm_err"], rel=1e-3)
    assert model.tilt.value == expected["tilt"] == 0
    assert result.mask_fit is None  # restored
    assert result.mask_safe.data.all()


def test_fov_background_failures(map_setup):
    _, geom, _, dataset, _ = map_setup
    everything = geom.to_image().region_mask([], inside=False)
    everything.data[...] = False
    failed = FoVBackgroundMaker(exclusion_mask=everything).run(dataset.copy(name="all-excl"))
    assert not failed.mask_safe.data.any()
    too_few = FoVBackgroundMaker(min_counts=10**6).run(dataset.copy(name="few"))
    assert not too_few.mask_safe.data.any()
    with pytest.raises(DatasetError, match="Not a valid method"):
        FoVBackgroundMaker(method="guess")
    with pytest.raises(DatasetError, match="norm spectral model"):
        from fluxfit.models import PowerLawSpectralModel

        FoVBackgroundMaker(spectral_model=PowerLawSpectralModel())
    with pytest.raises(DatasetError, match="unknown spectral model"):
        FoVBackgroundMaker(spectral_model="no-such-model")


def test_map_maker_reuses_irf_work(map_setup):
    """Two time pieces of one run: PSF, dispersion and background rates computed once."""
    from astropy.time import Time

    obs, _, empty, dataset, _ = map_setup
    maker = MapDatasetMaker()
    start = obs.tstart
    halves = [
        obs.select_time(Time([start, start + 800 * u.s])),
        obs.select_time(Time([start + 800 * u.s, obs.tstop])),
    ]
    parts = [maker.run(empty.copy(name=f"half{i}"), piece) for i, piece in enumerate(halves)]
    keys = [k[1][0] for k in maker._cache._data]
    assert keys.count("psf") == 1 and keys.count("edisp") == 1 and keys.count("background") == 1
    whole = maker.run(empty.copy(name="whole"), obs.select_time(Time([start, obs.tstop])))
    total = parts[0].counts.data + parts[1].counts.data
    np.testing.assert_array_equal(total, whole.counts.data)
    assert abs(total.sum() - dataset.counts.data.sum()) <= 1  # events outside the GTI
    exposure = sum(p.exposure.quantity.to_value("m2 s") for p in parts)
    np.testing.assert_allclose(exposure, dataset.exposure.quantity.to_value("m2 s"), rtol=1e-9)
    with pytest.raises(DatasetError, match="unknown selection"):
        MapDatasetMaker(selection=["counts", "mask"])


def test_fov_background_fit_with_tilt_and_fitter(map_setup):
    """A free tilt is fitted too; a user-given fitter (anything with run()) is used."""
    from fluxfit.models import PowerLawNormSpectralModel

    _, _geom, _, dataset, ref = map_setup
    model = PowerLawNormSpectralModel()
    model.tilt.frozen = False
    result = FoVBackgroundMaker(method="fit", spectral_model=model).run(dataset.copy(name="t"))
    fitted = result.models["t-bkg"].spectral_model
    assert fitted.norm.value == pytest.approx(ref["fov_background"]["scale"]["norm"], rel=0.05)
    assert abs(fitted.tilt.value) < 0.3 and fitted.tilt.error > 0

    class Recorder:
        calls = 0

        def run(self, dataset):
            Recorder.calls += 1
            return type("Result", (), {"success": False})()

    failed = FoVBackgroundMaker(method="fit", fit=Recorder()).run(dataset.copy(name="r"))
    assert Recorder.calls == 1 and not failed.mask_safe.data.any()
