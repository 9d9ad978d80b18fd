"""fluxfit.data on H.E.S.S. DL3 DR1: seed 003's selection and time pieces against Gammapy 2.1.

References: ../shared/reference/gammapy/wf3_time_resolved.json (the seed's per-piece dataset
facts) and tests/data/gammapy_dl3_reference.json (event counts, times and IRF values computed
with Gammapy 2.1 on the same files).
"""

import pickle
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.io import fits
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.data import EventList, Observations
from fluxfit.errors import DatasetError
from fluxfit.maps import MapAxis

pytestmark = pytest.mark.data

PKS2155 = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")
ON_REGION = CircleSkyRegion(center=PKS2155, radius=Angle("0.11 deg"))
ENERGY_AXIS = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
ENERGY_AXIS_TRUE = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")


def test_index_tables(hess_store, hess_dir):
    assert len(hess_store.obs_table) == 105
    assert len(hess_store.hdu_table) == 630
    assert len(hess_store.obs_ids) == 105
    assert hess_store.hdu_table.hdu_type_unique == ["aeff", "bkg", "edisp", "events", "gti", "psf"]
    assert hess_store.hdu_table.base_dir == hess_dir
    location = hess_store.hdu_table.hdu_location(33787, "aeff")
    assert location.path == hess_dir / "data" / "hess_dl3_dr1_obs_id_033787.fits.gz"
    assert location.hdu_name == "aeff" and location.hdu_class == "aeff_2d"
    text = hess_store.info(show=False)
    assert "Rows: 630" in text and "Number of observations: 105" in text


def test_seed_selection(seed_observations, wf3_reference):
    assert len(seed_observations) == 21
    assert [int(i) for i in seed_observations.obs_ids] == wf3_reference["selected_obs_ids"]
    assert seed_observations.ids[0] == "33787"
    assert seed_observations["33788"].obs_id == 33788


def test_pieces_match_reference_datasets(seed_pieces, wf3_reference):
    datasets = wf3_reference["datasets"]
    assert len(seed_pieces) == wf3_reference["n_short_observations"] == len(datasets) == 34
    for piece, ref in zip(seed_pieces, datasets):
        assert piece.obs_id == ref["obs_id"]
        ontime = piece.observation_time_duration.to_value("s")
        livetime = piece.observation_live_time_duration.to_value("s")
        assert ontime == pytest.approx(ref["ontime"], rel=1e-9)
        assert livetime == pytest.approx(ref["livetime"], rel=1e-6)
        assert len(piece.gti) == 1
        # Gammapy prints a clipped edge in the interval's scale (UTC), an original one in TT
        start, stop = piece.gti.time_start[0], piece.gti.time_stop[-1]
        assert ref["tstart"] in (start.utc.isot, start.tt.isot)
        assert ref["tstop"] in (stop.utc.isot, stop.tt.isot)
        assert piece.tstart == start and piece.tstop == stop


def test_pieces_counts_in_safe_range(seed_pieces, wf3_reference):
    """ON counts above the safe threshold per piece equal the reference datasets' counts."""
    for piece, ref in zip(seed_pieces, wf3_reference["datasets"]):
        on_events = piece.events.select_region(ON_REGION)
        counts = on_events.counts_by_energy(ENERGY_AXIS)
        first_safe = int(
            np.argmin(np.abs(ENERGY_AXIS.edges.to_value("TeV") - ref["safe_energy_min_TeV"]))
        )
        assert ENERGY_AXIS.edges[first_safe].to_value("TeV") == pytest.approx(
            ref["safe_energy_min_TeV"], rel=1e-9
        )
        assert int(counts[first_safe:].sum()) == ref["counts"]
        selected = on_events.select_energy([ref["safe_energy_min_TeV"], 20] * u.TeV)
        assert len(selected) == ref["counts"]


def test_pieces_events_against_gammapy(seed_pieces, gammapy_reference):
    for piece, ref in zip(seed_pieces, gammapy_reference["pieces"]):
        events = piece.events
        assert len(events) == ref["n_events"]
        on_events = events.select_region(ON_REGION)
        assert len(on_events) == ref["n_events_on"]
        assert on_events.counts_by_energy(ENERGY_AXIS).tolist() == ref["counts_on_per_bin"]
        assert piece.gti.time_start.tt.mjd == pytest.approx(ref["gti_start_mjd_tt"], abs=1e-11)
        assert piece.gti.time_stop.tt.mjd == pytest.approx(ref["gti_stop_mjd_tt"], abs=1e-11)
        assert events.time[0].tt.mjd == pytest.approx(ref["first_event_time_mjd_tt"], abs=1e-11)


def test_pieces_exposure_against_reference(seed_pieces, wf3_reference):
    """aeff x livetime x PSF containment at the ON radius: the reference exposure range."""
    for piece, ref in zip(seed_pieces, wf3_reference["datasets"]):
        offset = PKS2155.separation(piece.pointing_radec)
        energy = ENERGY_AXIS_TRUE.center
        area = piece.aeff.evaluate(energy_true=energy, offset=offset).to_value("m2")
        containment = piece.psf.containment(rad=0.11 * u.deg, energy_true=energy, offset=offset)
        exposure = area * containment * piece.observation_live_time_duration.to_value("s")
        positive = exposure[exposure > 0]
        assert positive.min() == pytest.approx(ref["exposure_min"], rel=1e-6)
        assert positive.max() == pytest.approx(ref["exposure_max"], rel=1e-6)


def test_pieces_share_irfs_and_file_reads(seed_pieces):
    first, second = seed_pieces[0], seed_pieces[1]
    assert first.obs_id == second.obs_id == 33787
    assert first.aeff is second.aeff
    assert first.edisp is second.edisp
    assert first.time_interval is not None


def test_event_times_hand_computation(hess_store, hess_dir, gammapy_reference):
    """TIME + MJDREFI + MJDREFF in TT, checked by hand and against Gammapy."""
    filename = hess_dir / "data" / "hess_dl3_dr1_obs_id_033787.fits.gz"
    with fits.open(filename) as hdulist:
        header = hdulist["EVENTS"].header
        met = np.array(hdulist["EVENTS"].data["TIME"][:3], dtype=float)
    assert header["TIMESYS"].strip() == "TT" and header["TIMEUNIT"].strip() == "s"
    events = hess_store.obs(33787).events
    expected_days = header["MJDREFF"] + met / 86400.0  # fractional part, exact enough in float64
    got = events.time[:3].tt
    got_days = (got.jd1 - 2400000.5 - header["MJDREFI"]) + got.jd2
    np.testing.assert_allclose(got_days, expected_days, rtol=0, atol=1e-6 / 86400)
    np.testing.assert_allclose(events.met[:3], met, rtol=0, atol=0)
    ref = gammapy_reference["obs33787"]
    np.testing.assert_allclose(got.mjd, ref["event_time_mjd_tt_first3"], rtol=0, atol=1e-11)
    assert events.time[0].utc.isot == ref["event_time_isot_utc_first"]
    # 2006: TT - UTC = 32.184 s + 33 leap seconds
    assert (events.time[0].tt.datetime - events.time[0].utc.datetime).total_seconds() == (
        pytest.approx(65.184, abs=1e-6)
    )
    assert len(events) == ref["n_events"] == header["NAXIS2"]


def test_observation_facts(hess_store, gammapy_reference):
    obs = hess_store.obs(33787)
    ref = gammapy_reference["obs33787"]
    assert obs.available_irfs == ["aeff", "edisp", "psf", "bkg"]
    assert obs.available_hdus == ["events", "gti", "aeff", "edisp", "psf", "bkg"]
    assert obs.pointing_radec.ra.deg == pytest.approx(ref["pointing_radec"][0], abs=1e-12)
    assert obs.pointing_radec.dec.deg == pytest.approx(ref["pointing_radec"][1], abs=1e-12)
    assert obs.observation_dead_time_fraction == pytest.approx(ref["deadtime_fraction"], rel=1e-12)
    assert obs.observation_live_time_duration.to_value("s") == pytest.approx(
        ref["livetime_s"], rel=1e-12
    )
    # GTI sum x DEADC is the LIVETIME keyword (to its float32 precision)
    assert obs.observation_live_time_duration.to_value("s") == pytest.approx(
        float(obs.meta["LIVETIME"]), rel=1e-6
    )
    assert (
        obs.target_radec.separation(SkyCoord(329.71666666667, -30.225555555556, unit="deg")).deg
        < 1e-9
    )
    assert obs.bkg.fov_alignment == ref["bkg_fov_alignment"] == "REVERSE_LON_RADEC"
    row = hess_store.obs_table.select_obs_id(33787)
    assert obs.tstart.tt.mjd == pytest.approx(row.time_start[0].tt.mjd, abs=1e-9)
    assert obs.tstop.tt.mjd == pytest.approx(row.time_stop[0].tt.mjd, abs=1e-9)
    assert PKS2155.separation(obs.pointing_radec).deg == pytest.approx(ref["offset_deg"], rel=1e-12)
    assert obs.observatory_earth_location.lat.deg == pytest.approx(-23.2717777777778)


def test_load_all_seed_observations(hess_store, wf3_reference, capsys):
    """Events and the four IRFs of the 21 observations, read from scratch."""
    start = time.perf_counter()
    observations = hess_store.get_observations(wf3_reference["selected_obs_ids"])
    n_events = 0
    for obs in observations:
        n_events += len(obs.events)
        obs.gti, obs.aeff, obs.edisp, obs.psf, obs.bkg  # noqa: B018
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[fluxfit.data] 21 observations (events + GTI + 4 IRFs): {elapsed:.2f} s")
    assert n_events > 100000
    assert elapsed < 15


def test_obs_table_selections(hess_store):
    table = hess_store.obs_table
    zenith = np.asarray(table["ZEN_PNT"])
    sel = table.select_observations(
        dict(type="par_box", variable="ZEN_PNT", value_range=Angle([20, 40], "deg"))
    )
    assert len(sel) == int(np.sum((zenith >= 20) & (zenith < 40)))
    inverted = table.select_observations(
        dict(type="par_box", variable="ZEN_PNT", value_range=[20, 40] * u.deg, inverted=True)
    )
    assert len(sel) + len(inverted) == len(table)
    sel = table.select_observations(dict(type="par_box", variable="N_TELS", value_range=[3, 3]))
    assert np.all(np.asarray(sel["N_TELS"]) == 3)
    # border widens the circle: 1 + 1 deg = the seed's 2 deg selection
    circle = dict(
        type="sky_circle",
        frame="icrs",
        lon=PKS2155.ra,
        lat=PKS2155.dec,
        radius=1 * u.deg,
        border=1 * u.deg,
    )
    assert len(table.select_observations(circle)) == 21
    galactic = PKS2155.galactic
    circle = dict(
        type="sky_circle", frame="galactic", lon=galactic.l, lat=galactic.b, radius="2 deg"
    )
    assert len(table.select_observations(circle)) == 21
    time_range = Time(["2006-07-29T12:00", "2006-07-30T12:00"])
    box = table.select_observations(dict(type="time_box", time_range=time_range))
    assert list(box["OBS_ID"]) == list(range(33787, 33802))
    both = table.select_observations(
        [
            dict(type="time_box", time_range=time_range),
            dict(type="par_box", variable="OBS_ID", value_range=[33790, 33793]),
        ]
    )
    assert list(both["OBS_ID"]) == [33790, 33791, 33792]
    with pytest.raises(DatasetError, match="invalid selection type"):
        table.select_observations(dict(type="cone"))


def test_get_observations_options(hess_store):
    with pytest.raises(DatasetError, match="12345"):
        hess_store.get_observations([33787, 12345])
    observations = hess_store.get_observations([33787, 12345, 33788], skip_missing=True)
    assert observations.ids == ["33787", "33788"]
    assert len(hess_store.get_observations()) == 105
    assert len(hess_store.get_observations(required_irf=["aeff", "edisp"])) == 105


def test_piece_pickles_and_reselects(seed_pieces):
    piece = seed_pieces[1]
    clone = pickle.loads(pickle.dumps(piece))
    assert len(clone.events) == len(piece.events)
    assert clone.observation_live_time_duration == piece.observation_live_time_duration
    # selecting a piece again intersects the intervals
    sub = piece.select_time(Time(["2006-07-29T20:50", "2006-07-29T23:00"]))
    assert sub.observation_time_duration.to_value("s") == pytest.approx(
        (piece.tstop - Time("2006-07-29T20:50")).to_value("s"), rel=1e-9
    )
    assert np.all(sub.events.time >= Time("2006-07-29T20:50"))


def test_select_time_without_overlap_gives_no_piece(seed_observations):
    pieces = seed_observations.select_time([Time(["2006-07-29T20:00", "2006-07-29T20:20"])])
    assert len(pieces) == 0
    single = seed_observations[0].select_time(Time(["2006-07-29T20:00", "2006-07-29T20:20"]))
    assert len(single.events) == 0 and len(single.gti) == 0
    assert single.observation_live_time_duration.to_value("s") == 0
    assert isinstance(single.events, EventList)
    assert isinstance(seed_observations[:3], Observations) and len(seed_observations[:3]) == 3


def test_aeff_max_safe_threshold_matches_reference(seed_pieces, wf3_reference):
    """Gammapy's SafeMaskMaker(methods=["aeff-max"], aeff_percent=10) without a position
    evaluates the effective area at offset 0 on the IRF's own true-energy edges; the reco bins
    whose lower edge is above the lowest edge with aeff > 10 % of the maximum are safe."""
    low_edges = ENERGY_AXIS.edges[:-1]
    for piece, ref in zip(seed_pieces, wf3_reference["datasets"]):
        edges = piece.aeff.axes["energy_true"].edges
        values = piece.aeff.evaluate(offset=0 * u.deg, energy_true=edges)
        energy_min = edges[values > 0.1 * values.max()].min()
        safe = low_edges >= energy_min
        assert int(safe.sum()) == ref["n_safe_bins"]
        assert low_edges[safe][0].to_value("TeV") == pytest.approx(ref["safe_energy_min_TeV"])
