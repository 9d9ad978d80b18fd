"""fluxfit.makers on synthetic in-memory observations: exact numbers, edge cases and errors."""

import pickle

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from astropy.time import Time
from regions import CircleSkyRegion, PointSkyRegion, RectangleSkyRegion

from fluxfit.data import GTI, EventList, Observation, Observations
from fluxfit.datasets import SpectrumDatasetOnOff
from fluxfit.errors import DatasetError
from fluxfit.irf.gadf import (
    Background2D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSFTable,
)
from fluxfit.makers import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    SafeMaskMaker,
    SpectrumDatasetMaker,
    SpectrumReduction,
    WobbleRegionsFinder,
    make_empty_spectrum_dataset,
)
from fluxfit.makers.core import IdentityCache, gti_to_ogip
from fluxfit.maps import MapAxis, RegionGeom, WcsGeom

POINTING = SkyCoord(83.63, 22.51, unit="deg")
TARGET = SkyCoord(83.63, 22.01, unit="deg")  # 0.5 deg south of the pointing
ON_REGION = CircleSkyRegion(TARGET, radius=0.1 * u.deg)
ENERGY_AXIS = MapAxis.from_energy_bounds("0.5 TeV", "50 TeV", 6)
ENERGY_AXIS_TRUE = MapAxis.from_energy_bounds("0.2 TeV", "100 TeV", 12, name="energy_true")
TREF = Time("2020-01-01T00:00:00", scale="tt")
PSF_SIGMA_DEG = 0.05
AREA_M2 = 1e5


def synthetic_irfs():
    energy_true = MapAxis.from_energy_bounds("0.1 TeV", "200 TeV", 20, name="energy_true")
    offset = MapAxis.from_edges([0.0, 1.0, 2.0, 3.0], unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5.0, 96, name="migra")
    rad = MapAxis.from_bounds(0.0, 0.6, 300, unit="deg", name="rad")
    energy = MapAxis.from_energy_bounds("0.1 TeV", "200 TeV", 10, name="energy")
    aeff = EffectiveAreaTable2D([energy_true, offset], data=np.full((20, 3), AREA_M2), unit="m2")
    edisp = EnergyDispersion2D.from_gauss(energy_true, migra, offset, bias=0.0, sigma=0.1)
    sigma = np.deg2rad(PSF_SIGMA_DEG)
    r = rad.center.to_value("rad")
    pdf = np.exp(-0.5 * (r / sigma) ** 2) / (2 * np.pi * sigma**2)
    psf = PSFTable([energy_true, offset, rad], data=np.broadcast_to(pdf, (20, 3, 300)), unit="sr-1")
    rate = np.exp(-np.arange(10.0))[:, None] * np.ones((10, 3)) * 1e-4
    bkg = Background2D([energy, offset], data=rate, unit="s-1 MeV-1 sr-1")
    return {"aeff": aeff, "edisp": edisp, "psf": psf, "bkg": bkg}


def make_events(ra, dec, energy, met):
    table = Table(
        {
            "TIME": np.asarray(met, float) * u.s,
            "RA": np.asarray(ra, float) * u.deg,
            "DEC": np.asarray(dec, float) * u.deg,
            "ENERGY": np.asarray(energy, float) * u.TeV,
        }
    )
    table.meta = {
        "MJDREFI": 58849,
        "MJDREFF": 0.0,
        "TIMESYS": "TT",
        "TIMEUNIT": "s",
        "OBS_ID": 1,
        "RA_PNT": POINTING.ra.deg,
        "DEC_PNT": POINTING.dec.deg,
        "DEADC": 0.9,
    }
    return EventList(table)


def make_observation(events, duration=1800.0, irfs=None, obs_id=1):
    gti = GTI([0.0], [duration], reference_time=TREF)
    meta = {"RA_PNT": POINTING.ra.deg, "DEC_PNT": POINTING.dec.deg, "DEADC": 0.9}
    return Observation(
        obs_id=obs_id, events=events, gti=gti, meta=meta, **(irfs or synthetic_irfs())
    )


@pytest.fixture(scope="module")
def geom():
    return RegionGeom.create(region=ON_REGION, axes=[ENERGY_AXIS])


@pytest.fixture(scope="module")
def empty(geom):
    return make_empty_spectrum_dataset(geom, ENERGY_AXIS_TRUE, name="empty")


@pytest.fixture(scope="module")
def off_regions():
    regions, _ = ReflectedRegionsFinder().run(ON_REGION, POINTING)
    return regions


@pytest.fixture(scope="module")
def observation(off_regions):
    """Events: 5 in the ON region (1.5 TeV), 2 in each OFF region (3 TeV), 7 elsewhere."""
    ra, dec, energy, met = [], [], [], []
    for i in range(5):
        ra.append(TARGET.ra.deg + 0.01 * i)
        dec.append(TARGET.dec.deg)
        energy.append(1.5)
        met.append(100.0 + 300 * i)
    for k, region in enumerate(off_regions):
        for j in range(2):
            ra.append(region.center.ra.deg)
            dec.append(region.center.dec.deg + 0.02 * j)
            energy.append(3.0)
            met.append(50.0 + 100 * k + j)
    for i in range(7):
        ra.append(POINTING.ra.deg + 1.5)
        dec.append(POINTING.dec.deg + 0.1 * i)
        energy.append(5.0)
        met.append(10.0 * i)
    return make_observation(make_events(ra, dec, energy, met))


def test_reflected_regions_geometry(off_regions):
    """Same offset as the ON region, (almost) no overlap; Gammapy 2.1 finds the same 14."""
    assert len(off_regions) == 14
    first, last = off_regions[0].center, off_regions[-1].center
    np.testing.assert_allclose(
        [first.ra.deg, first.dec.deg], [83.3738062304946, 22.069764079512733]
    )
    np.testing.assert_allclose([last.ra.deg, last.dec.deg], [83.9592357930176, 22.11348060852925])
    offsets = [r.center.separation(POINTING).deg for r in off_regions]
    np.testing.assert_allclose(offsets, 0.5, rtol=1e-4)
    centers = SkyCoord([r.center for r in off_regions])
    assert np.all(centers.separation(TARGET).deg > 0.2)
    for i, region in enumerate(off_regions):
        others = np.delete(np.arange(len(off_regions)), i)
        # the angular size comes from 0.01 deg pixel centres: regions may touch (Gammapy)
        assert np.all(centers[others].separation(region.center).deg > 0.19)
        assert region.radius.to_value("deg") == pytest.approx(0.1, rel=1e-4)


def test_counts_exposure_edisp(observation, empty):
    maker = SpectrumDatasetMaker(containment_correction=True)
    dataset = maker.run(empty.copy(name="obs1"), observation)
    assert dataset.counts.tolist() == [0, 5, 0, 0, 0, 0]
    livetime = 0.9 * 1800.0
    assert dataset.livetime == pytest.approx(livetime)
    # flat effective area x Gaussian PSF containment within 0.1 deg
    containment = 1 - np.exp(-0.5 * (0.1 / PSF_SIGMA_DEG) ** 2)
    expected = AREA_M2 * 1e4 * livetime * containment
    np.testing.assert_allclose(dataset.exposure.to_value("cm2 s"), expected, rtol=2e-3)
    rows = dataset.edisp.to_dense().sum(axis=1)
    inside = (ENERGY_AXIS_TRUE.center > 0.7 * u.TeV) & (ENERGY_AXIS_TRUE.center < 35 * u.TeV)
    np.testing.assert_allclose(rows[inside], 1.0, atol=2e-3)
    # the IRF background: rate integrated x solid angle x on-time
    assert dataset.background is not None and np.all(dataset.background > 0)
    assert dataset.meta["OBS_ID"] == 1 and dataset.meta["geom"] is empty.meta["geom"]
    assert dataset.gti.header["TIMESYS"] == "TT"
    assert dataset.gti.header["MJDREFI"] == 58849


def test_on_off_counts(observation, empty, off_regions):
    dataset = SpectrumDatasetMaker(selection=["counts", "exposure", "edisp"]).run(
        empty.copy(name="obs1"), observation
    )
    onoff = ReflectedRegionsBackgroundMaker().run(dataset, observation)
    assert isinstance(onoff, SpectrumDatasetOnOff)
    assert onoff.counts_off.tolist() == [0, 0, 2 * len(off_regions), 0, 0, 0]
    assert onoff.acceptance_off.tolist() == [float(len(off_regions))] * 6
    assert onoff.alpha[0] == pytest.approx(1 / len(off_regions))
    assert onoff.meta["n_off_regions"] == len(off_regions)
    assert onoff.counts.tolist() == dataset.counts.tolist()


def test_piece_without_events_is_well_formed(observation, empty):
    """A time piece with good time but no events, and one with no good time at all."""
    quiet = observation.select_time(TREF + [1650.0, 1700.0] * u.s)
    assert len(quiet.events) == 0
    outside = observation.select_time(TREF + [5000.0, 6000.0] * u.s)
    assert len(outside.gti) == 0
    reduction = SpectrumReduction(
        RegionGeom.create(region=ON_REGION, axes=[ENERGY_AXIS]), ENERGY_AXIS_TRUE
    )
    datasets = reduction.run([quiet, outside], names=["quiet", "outside"])
    quiet_ds, outside_ds = datasets
    assert quiet_ds.counts.sum() == 0 and quiet_ds.counts_off.sum() == 0
    assert quiet_ds.livetime == pytest.approx(0.9 * 50.0)
    assert np.all(quiet_ds.exposure.value > 0)
    assert quiet_ds.mask_safe.any()
    info = quiet_ds.info_dict()
    assert info["counts"] == 0 and info["excess"] == 0 and info["counts_off"] == 0
    # no good time: zero live time and exposure, nothing safe, still a valid dataset
    assert outside_ds.livetime == 0.0
    assert np.all(outside_ds.exposure.value == 0)
    assert not outside_ds.mask_safe.any()
    assert outside_ds.info_dict()["counts"] == 0
    assert len(outside_ds.gti.start) == 0
    # pickles (for process pools)
    clone = pickle.loads(pickle.dumps(quiet_ds))
    assert clone.counts.tolist() == quiet_ds.counts.tolist()


def test_irf_work_is_cached_per_observation(observation, empty):
    maker = SpectrumDatasetMaker(containment_correction=True)
    calls = []
    original = maker._compute_area

    def counting(*args):
        calls.append(1)
        return original(*args)

    maker._compute_area = counting
    pieces = Observations([observation]).select_time(
        [TREF + [0.0, 600.0] * u.s, TREF + [600.0, 1800.0] * u.s]
    )
    first = maker.run(empty.copy(name="a"), pieces[0])
    second = maker.run(empty.copy(name="b"), pieces[1])
    assert len(calls) == 1
    ratio = second.exposure.value / first.exposure.value
    np.testing.assert_allclose(ratio, 2.0)
    # other IRF objects: computed again
    other = make_observation(observation.events, irfs=synthetic_irfs())
    maker.run(empty.copy(name="c"), other)
    assert len(calls) == 2


def test_identity_cache():
    cache = IdentityCache(maxsize=2)
    a, b, c = object(), object(), object()
    assert cache.get((a,), "k", lambda: 1) == 1
    assert cache.get((a,), "k", lambda: 2) == 1
    assert cache.get((a,), "other", lambda: 3) == 3
    cache.get((b,), "k", lambda: 4)
    assert len(cache) == 2
    assert cache.get((a,), "k", lambda: 5) == 5  # evicted (least recently used)
    assert cache.get((c,), "k", lambda: 6) == 6
    assert len(pickle.loads(pickle.dumps(cache))) == 0


def test_wobble_finder():
    regions, _ = WobbleRegionsFinder(n_off_regions=3).run(ON_REGION, POINTING)
    assert len(regions) == 3
    position_angles = sorted(POINTING.position_angle(r.center).deg for r in regions)
    np.testing.assert_allclose(position_angles, [0, 90, 270], atol=0.05)  # ON at 180
    # too many regions overlap: none returned
    crowded, _ = WobbleRegionsFinder(n_off_regions=20).run(ON_REGION, POINTING)
    assert crowded == []
    maker = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=1))
    assert maker.region_finder.n_off_regions == 1


def test_finder_with_rectangle_region():
    rectangle = RectangleSkyRegion(TARGET, width=0.2 * u.deg, height=0.1 * u.deg)
    regions, _wcs = ReflectedRegionsFinder().run(rectangle, POINTING)
    assert len(regions) == 13  # Gammapy 2.1: 13, the first at (83.36582178400435, 22.0738208...)
    center = regions[0].center
    np.testing.assert_allclose([center.ra.deg, center.dec.deg], [83.36582178400435, 22.07382082638])
    assert all(isinstance(r, RectangleSkyRegion) for r in regions)


def test_exclusion_removes_regions(observation, empty):
    mask_geom = WcsGeom.create(skydir=POINTING, width=3 * u.deg, binsz=0.02, frame="icrs")
    east = CircleSkyRegion(POINTING.directional_offset_by(90 * u.deg, 0.5 * u.deg), 0.2 * u.deg)
    mask = mask_geom.region_mask([east], inside=False)
    regions, _ = ReflectedRegionsFinder().run(ON_REGION, POINTING, exclusion_mask=mask)
    for region in regions:
        assert region.center.separation(east.center).deg > 0.3 - 1e-6
    assert 0 < len(regions) < 14
    with pytest.raises(DatasetError, match="booleans"):
        ReflectedRegionsBackgroundMaker(exclusion_mask=mask_geom.region_mask([east]) * 1.0)


def test_safe_mask_on_synthetic(observation, empty):
    dataset = SpectrumDatasetMaker(containment_correction=False).run(
        empty.copy(name="x"), observation
    )
    # flat effective area: nothing below 10 % of the maximum
    assert SafeMaskMaker(methods=["aeff-max"]).run(dataset.copy(), observation).mask_safe.all()
    # no DL3 thresholds in the header: warnings, no cut
    assert SafeMaskMaker(methods=["aeff-default"]).run(dataset.copy(), observation).mask_safe.all()
    mask = SafeMaskMaker(methods=["offset-max"], offset_max="0.3 deg").run(
        dataset.copy(), observation
    )
    assert not mask.mask_safe.any()
    # no bias: edisp-bias keeps everything above the bias peak
    assert SafeMaskMaker(methods=["bkg-peak"]).run(dataset.copy(), observation).mask_safe[1:].all()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: SpectrumDatasetMaker(selection=["counts", "psf"]), "unknown selection"),
        (lambda: SafeMaskMaker(methods=["aeff-min"]), "not a valid method"),
        (lambda: SafeMaskMaker(irfs="DL5"), "irfs must be"),
        (
            lambda: SafeMaskMaker(position=TARGET, fixed_offset=0.5 * u.deg),
            "mutually exclusive",
        ),
        (lambda: ReflectedRegionsFinder(angle_increment="0 rad"), "must be > 0"),
        (
            lambda: ReflectedRegionsFinder().run(PointSkyRegion(TARGET), POINTING),
            "PointSkyRegion",
        ),
        (
            lambda: ReflectedRegionsBackgroundMaker(
                region_finder=ReflectedRegionsFinder(), min_distance="0.1 rad"
            ),
            "no keyword arguments",
        ),
        (lambda: make_empty_spectrum_dataset("geom", ENERGY_AXIS_TRUE), "RegionGeom"),
        (
            lambda: make_empty_spectrum_dataset(RegionGeom.create(ON_REGION), ENERGY_AXIS_TRUE),
            "'energy' axis",
        ),
    ],
)
def test_errors(call, message):
    with pytest.raises(DatasetError, match=message):
        call()


def test_dataset_without_geom(observation):
    from fluxfit.datasets import SpectrumDataset

    plain = SpectrumDataset.create(ENERGY_AXIS.edges, ENERGY_AXIS_TRUE.edges, name="plain")
    with pytest.raises(DatasetError, match="make_empty_spectrum_dataset"):
        SpectrumDatasetMaker().run(plain, observation)


def test_point_on_region_not_supported(observation):
    geom = RegionGeom.create(region=PointSkyRegion(TARGET), axes=[ENERGY_AXIS])
    empty = make_empty_spectrum_dataset(geom, ENERGY_AXIS_TRUE)
    with pytest.raises(DatasetError, match="point-like"):
        SpectrumDatasetMaker(selection=["counts"]).run(empty, observation)


def test_gti_to_ogip_precision():
    reference = Time(51910, 0.00074287037, format="mjd", scale="tt")
    gti = GTI([10.5, 20.0], [15.0, 30.25], reference_time=reference)
    ogip = gti_to_ogip(gti)
    assert ogip.start.tolist() == [10.5, 20.0] and ogip.stop.tolist() == [15.0, 30.25]
    assert ogip.header["MJDREFI"] == 51910
    assert ogip.header["MJDREFF"] == pytest.approx(0.00074287037, abs=1e-15)
    assert ogip.header["TIMESYS"] == "TT"


def test_makers_repr():
    assert "containment_correction=True" in repr(SpectrumDatasetMaker(containment_correction=True))
    assert Angle("0.1 rad") == ReflectedRegionsFinder().min_distance_input


def test_prepare_background_irf():
    """Zeros inside the energy range are filled (log-linear), 2-D backgrounds padded in offset."""
    from fluxfit.makers.irf_maps import prepare_background_irf

    irfs = synthetic_irfs()
    bkg = irfs["bkg"]
    data = np.array(bkg.data)
    data[4, 1] = 0.0  # a hole between valid energies
    data[0, 2] = 0.0  # at the lowest energy: nothing to interpolate from below
    holed = Background2D(list(bkg.axes), data=data, unit=bkg.unit)
    prepared = prepare_background_irf(holed)
    assert prepared is prepare_background_irf(holed)  # cached per IRF object
    filled = prepared.data[:, 1:-1]  # without the padded offset bins
    expected = np.sqrt(data[3, 1] * data[5, 1])
    assert filled[4, 1] == pytest.approx(expected, rel=1e-12)
    assert filled[0, 2] == 0.0
    assert prepared.axes["offset"].nbin == bkg.axes["offset"].nbin + 2
    np.testing.assert_array_equal(prepared.data[:, 0], prepared.data[:, 1])
    assert holed.data[4, 1] == 0.0  # the input is unchanged
    plain = prepare_background_irf(holed, interp_missing_data=False, pad_offset=False)
    np.testing.assert_array_equal(plain.data, data)


def test_missing_irf_names_the_observation(observation, empty):
    from fluxfit.errors import FormatError

    irfs = synthetic_irfs()
    del irfs["psf"]
    no_psf = make_observation(observation.events, irfs=irfs, obs_id=7)
    maker = SpectrumDatasetMaker(containment_correction=True)
    with pytest.raises(FormatError, match=r"observation 7.*'psf'"):
        maker.run(empty.copy(name="x"), no_psf)
    # without the containment correction the PSF is not needed
    dataset = SpectrumDatasetMaker(selection=["counts", "exposure", "edisp"]).run(
        empty.copy(name="y"), no_psf
    )
    assert dataset.counts.sum() == 5
