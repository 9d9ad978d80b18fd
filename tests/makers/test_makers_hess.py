"""fluxfit.makers on H.E.S.S. DL3 DR1 (seed 003) against Gammapy 2.1.

References: ../shared/reference/gammapy/wf3_time_resolved.json (``datasets``: counts, excess,
livetime, alpha... of the 34 pieces) and tests/makers/gammapy_makers_reference.json (per-bin
arrays and maker variants, written by bench/refgen/make_gammapy_makers_reference.py with Gammapy 2.1).
"""

import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from fluxfit.datasets import SpectrumDataset, SpectrumDatasetOnOff
from fluxfit.makers import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    SafeMaskMaker,
    SpectrumDatasetMaker,
    make_empty_spectrum_dataset,
    make_spectrum_datasets,
)
from fluxfit.maps import WcsGeom

from .conftest import ENERGY_AXIS_TRUE, ON_REGION

pytestmark = pytest.mark.data


def test_seed_datasets_match_reference_info(seed_datasets, wf3_reference_makers):
    """Counts, excess, livetime, OFF counts and alpha of the 34 pieces equal Gammapy's."""
    reference = wf3_reference_makers["datasets"]
    assert len(seed_datasets) == len(reference) == 34
    for dataset, ref in zip(seed_datasets, reference):
        assert isinstance(dataset, SpectrumDatasetOnOff)
        assert dataset.name == ref["name"]
        info = dataset.info_dict()
        assert info["counts"] == ref["counts"]
        assert info["counts_off"] == ref["counts_off"]
        assert info["excess"] == pytest.approx(ref["excess"], rel=1e-12)
        assert info["background"] == pytest.approx(ref["background"], rel=1e-12)
        assert info["livetime"] == pytest.approx(ref["livetime"], rel=1e-9)
        assert info["alpha"] == pytest.approx(ref["alpha"], rel=1e-12)
        assert info["acceptance"] == ref["acceptance"]
        assert info["acceptance_off"] == pytest.approx(ref["acceptance_off"], rel=1e-12)
        assert info["sqrt_ts"] == pytest.approx(ref["sqrt_ts"], rel=1e-9)
        # Gammapy's exposure_min/max: over the non-zero bins, in m2 s
        exposure = dataset.exposure.to_value("m2 s")
        assert exposure[exposure > 0].min() == pytest.approx(ref["exposure_min"], rel=1e-9)
        assert exposure.max() == pytest.approx(ref["exposure_max"], rel=1e-9)
        assert int(dataset.mask_safe.sum()) == ref["n_safe_bins"]
        first = dataset.energy_axis.edges[np.argmax(dataset.mask_safe)].to_value("TeV")
        assert first == pytest.approx(ref["safe_energy_min_TeV"], rel=1e-12)
        assert dataset.meta["OBS_ID"] == ref["obs_id"]
        assert dataset.meta["n_off_regions"] == 12


def test_seed_datasets_arrays_match_gammapy(seed_datasets, makers_reference):
    """Per bin: ON and OFF counts exactly, exposure to 1e-12, dispersion to 1e-13."""
    for dataset, ref in zip(seed_datasets, makers_reference["pieces"]):
        assert dataset.name == ref["name"]
        assert dataset.counts.tolist() == ref["counts"]
        assert dataset.counts_off.tolist() == ref["counts_off"]
        assert dataset.acceptance.tolist() == [1.0] * 10
        assert dataset.acceptance_off.tolist() == ref["acceptance_off"]
        assert dataset.mask_safe.tolist() == ref["mask_safe"]
        np.testing.assert_allclose(
            dataset.exposure.to_value("cm2 s"), ref["exposure_cm2s"], rtol=1e-12, atol=1e-3
        )
        np.testing.assert_allclose(dataset.edisp.to_dense(), ref["edisp"], rtol=0, atol=1e-13)
        assert dataset.livetime == pytest.approx(ref["livetime_s"], rel=1e-12)


def test_seed_datasets_gti_and_meta(seed_datasets, seed_pieces_makers, wf3_reference_makers):
    for dataset, piece, ref in zip(
        seed_datasets, seed_pieces_makers, wf3_reference_makers["datasets"]
    ):
        np.testing.assert_allclose(dataset.gti.start, piece.gti.met_start.to_value("s"))
        np.testing.assert_allclose(dataset.gti.stop, piece.gti.met_stop.to_value("s"))
        assert dataset.gti.header["TIMESYS"] == "TT"
        header = dataset.gti.header
        start = piece.gti.time_start[0]
        mjd = header["MJDREFI"] + header["MJDREFF"] + dataset.gti.start[0] / 86400.0
        assert mjd == pytest.approx(start.tt.mjd, abs=1e-10)
        assert ref["tstart"] in (start.utc.isot, start.tt.isot)


def test_reflected_regions_match_gammapy(seed_observations_makers, makers_reference):
    """Twelve OFF regions for each of the 12 runs with pieces, at Gammapy's positions."""
    finder = ReflectedRegionsFinder()
    seen = {}
    for ref in makers_reference["pieces"]:
        if ref["obs_id"] in seen:
            continue
        obs = seed_observations_makers[str(ref["obs_id"])]
        regions, wcs = finder.run(ON_REGION, obs.pointing_radec)
        centers = np.array([[r.center.ra.deg, r.center.dec.deg] for r in regions])
        np.testing.assert_allclose(centers, ref["off_centers_deg"], rtol=0, atol=1e-9)
        radius = regions[0].radius.to_value("deg")
        assert radius == pytest.approx(ref["off_radius_deg"], rel=1e-4)
        assert wcs.wcs.ctype[0] == "RA---TAN"
        seen[ref["obs_id"]] = len(regions)
    assert len(seen) == 12 and set(seen.values()) == {12}


@pytest.mark.parametrize(
    "label, kwargs",
    [
        ("min_distance_0.5rad", dict(min_distance="0.5 rad")),
        ("min_distance_input_1rad", dict(min_distance_input="1 rad")),
        ("max_region_number_3", dict(max_region_number=3)),
        ("angle_increment_0.3rad", dict(angle_increment="0.3 rad", min_distance="0.2 rad")),
    ],
)
def test_reflected_finder_options(seed_observations_makers, makers_reference, label, kwargs):
    obs = seed_observations_makers[0]
    regions, _ = ReflectedRegionsFinder(**kwargs).run(ON_REGION, obs.pointing_radec)
    centers = np.array([[r.center.ra.deg, r.center.dec.deg] for r in regions])
    expected = np.array(makers_reference["variants"][label])
    assert centers.shape == expected.shape
    np.testing.assert_allclose(centers, expected, rtol=0, atol=1e-9)


@pytest.fixture(scope="module")
def first_obs_dataset(seed_observations_makers, seed_geom):
    obs = seed_observations_makers[0]
    empty = make_empty_spectrum_dataset(seed_geom, ENERGY_AXIS_TRUE, name="empty")
    maker = SpectrumDatasetMaker(
        containment_correction=True, selection=["counts", "exposure", "edisp"]
    )
    return obs, maker.run(empty.copy(name="full"), obs), empty


def test_exclusion_mask(first_obs_dataset, makers_reference):
    """A circle excluded beside the pointing: Gammapy's 9 OFF regions and their counts."""
    obs, dataset, _ = first_obs_dataset
    ref = makers_reference["variants"]["exclusion"]
    geom = WcsGeom.create(
        skydir=obs.pointing_radec,
        width=ref["mask_width_deg"] * u.deg,
        binsz=ref["mask_binsz_deg"],
        frame="icrs",
    )
    from regions import CircleSkyRegion

    excluded = CircleSkyRegion(
        SkyCoord(*ref["mask_center_deg"], unit="deg"), radius=ref["mask_radius_deg"] * u.deg
    )
    mask = geom.region_mask([excluded], inside=False)
    regions, _ = ReflectedRegionsFinder().run(ON_REGION, obs.pointing_radec, mask)
    centers = np.array([[r.center.ra.deg, r.center.dec.deg] for r in regions])
    np.testing.assert_allclose(centers, ref["off_centers_deg"], rtol=0, atol=1e-9)
    onoff = ReflectedRegionsBackgroundMaker(exclusion_mask=mask).run(dataset, obs)
    assert onoff.counts_off.tolist() == ref["counts_off"]
    assert onoff.acceptance_off.tolist() == ref["acceptance_off"]
    # everything excluded: no OFF region, the dataset is kept but masked (as Gammapy)
    nothing = geom.region_mask([], inside=False)
    nothing.data[...] = False
    masked = ReflectedRegionsBackgroundMaker(exclusion_mask=nothing).run(dataset, obs)
    assert not masked.mask_safe.any()
    assert masked.counts_off.sum() == 0


@pytest.mark.parametrize(
    "label, kwargs",
    [
        ("aeff-max", dict(methods=["aeff-max"], aeff_percent=10)),
        ("aeff-max-30", dict(methods=["aeff-max"], aeff_percent=30)),
        ("aeff-max-dl3", dict(methods=["aeff-max"], aeff_percent=10, irfs="DL3")),
        (
            "aeff-max-position",
            dict(methods=["aeff-max"], position=SkyCoord(329.716, -29.726, unit="deg")),
        ),
        ("aeff-max-fixed-offset", dict(methods=["aeff-max"], fixed_offset=1 * u.deg)),
        ("aeff-default", dict(methods=["aeff-default"])),
        ("edisp-bias", dict(methods=["edisp-bias"], bias_percent=10)),
        ("edisp-bias-dl3", dict(methods=["edisp-bias"], bias_percent=10, irfs="DL3")),
        ("edisp-bias-5", dict(methods=["edisp-bias"], bias_percent=5)),
        ("offset-max-0.4", dict(methods=["offset-max"], offset_max="0.4 deg")),
        ("offset-max-1", dict(methods=["offset-max"], offset_max="1 deg")),
        ("bkg-peak-dl3", dict(methods=["bkg-peak"], irfs="DL3")),
    ],
)
def test_safe_mask_methods(first_obs_dataset, makers_reference, label, kwargs):
    obs, dataset, _ = first_obs_dataset
    mask = SafeMaskMaker(**kwargs).run(dataset.copy(), obs).mask_safe
    assert mask.tolist() == makers_reference["variants"]["safe_masks"][label]


def test_background_from_irf(first_obs_dataset, makers_reference):
    """IRF background in the ON region (log-log energy integral x solid angle x on-time)."""
    obs, _, empty = first_obs_dataset
    variants = makers_reference["variants"]
    maker = SpectrumDatasetMaker(
        containment_correction=False, selection=["counts", "exposure", "edisp", "background"]
    )
    dataset = maker.run(empty.copy(name="bkg"), obs)
    assert type(dataset) is SpectrumDataset
    np.testing.assert_allclose(dataset.background, variants["background_irf"], rtol=1e-5)
    np.testing.assert_allclose(
        dataset.exposure.to_value("m2 s"), variants["exposure_no_containment"], rtol=1e-12
    )
    for label in ("bkg-peak", "aeff-max"):
        mask = SafeMaskMaker(methods=[label]).run(dataset.copy(), obs).mask_safe
        assert mask.tolist() == variants["safe_masks_with_background"][label]
    # oversampling: each bin integrated in 4 log sub-bins (up to 20 % higher at the peak)
    fine = SpectrumDatasetMaker(selection=["background"], background_oversampling=4)
    oversampled = fine.run(empty.copy(name="bkg4"), obs).background
    np.testing.assert_allclose(oversampled, variants["background_irf_oversampling_4"], rtol=1e-5)


def test_reduction_reuses_irf_work(seed_pieces_makers, seed_geom):
    """The 34 pieces need 21 exposure / dispersion / OFF-region computations, not 34."""
    from fluxfit.makers import SpectrumReduction

    reduction = SpectrumReduction(seed_geom, ENERGY_AXIS_TRUE)
    start = time.perf_counter()
    datasets = reduction.run(seed_pieces_makers)
    elapsed = time.perf_counter() - start
    assert len(datasets) == 34
    n_obs = len({p.obs_id for p in seed_pieces_makers})
    keys = list(reduction.dataset_maker._cache._data)
    assert sum(1 for k in keys if k[1][0] == "exposure") == n_obs
    assert sum(1 for k in keys if k[1][0] == "edisp") == n_obs
    # OFF regions depend on the pointing only: the runs share 4 wobble positions
    pointings = {(p.pointing_radec.ra.deg, p.pointing_radec.dec.deg) for p in seed_pieces_makers}
    assert len(reduction.background_maker._cache) == len(pointings) == 4
    assert elapsed < 5.0


def test_make_spectrum_datasets_names(seed_pieces_makers, seed_geom):
    pieces = seed_pieces_makers[:3]
    datasets = make_spectrum_datasets(
        pieces, seed_geom, ENERGY_AXIS_TRUE, names="piece{index}-{obs_id}"
    )
    assert datasets.names == ["piece0-33787", "piece1-33787", "piece2-33788"]
    from fluxfit.errors import DatasetError

    with pytest.raises(DatasetError, match="unique"):
        make_spectrum_datasets(pieces, seed_geom, ENERGY_AXIS_TRUE, names=["a", "a", "b"])
    with pytest.raises(DatasetError, match="2 names for 3"):
        make_spectrum_datasets(pieces, seed_geom, ENERGY_AXIS_TRUE, names=["a", "b"])


def test_exposure_averaged_over_the_region(first_obs_dataset, makers_reference):
    """use_region_center=False: exposure averaged over the region's pixels (Gammapy)."""
    obs, _, empty = first_obs_dataset
    variants = makers_reference["variants"]
    maker = SpectrumDatasetMaker(selection=["exposure", "edisp"], use_region_center=False)
    dataset = maker.run(empty.copy(name="avg"), obs)
    np.testing.assert_allclose(
        dataset.exposure.to_value("m2 s"), variants["exposure_region_average"], rtol=1e-12
    )
    np.testing.assert_allclose(
        dataset.edisp.to_dense(), variants["edisp_region_average"], rtol=0, atol=1e-13
    )
    assert dataset.counts.sum() == 0  # not selected
