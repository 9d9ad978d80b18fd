"""GTI and EventList on hand-made tables: time references, selections, binning, round trips."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.data import GTI, EventList, ObservationTable
from fluxfit.errors import DatasetError, FormatError, OverwriteError
from fluxfit.irf.gadf._fits import FitsTable

REF = Time("2010-01-01T00:00:00", scale="tt")


def gti_hdu(start, stop, **header):
    table = Table({"START": start, "STOP": stop})
    table.meta.update(header)
    return fits.table_to_hdu(table)


# ---------------------------------------------------------------------------- GTI
def test_gti_basic_and_select():
    gti = GTI([0.0, 100.0, 300.0], [50.0, 200.0, 400.0], reference_time=REF)
    assert gti.time_sum.to_value("s") == 250.0
    assert gti.time_start[1] == REF + 100 * u.s
    cut = gti.select_time(Time([REF + 20 * u.s, REF + 150 * u.s]))
    np.testing.assert_allclose(cut.met_start.value, [20, 100], atol=1e-6)
    np.testing.assert_allclose(cut.met_stop.value, [50, 150], atol=1e-6)
    # an interval in another scale: UTC edges are converted exactly
    utc = Time([(REF + 120 * u.s).utc, (REF + 130 * u.s).utc])
    assert gti.select_time(utc).time_sum.to_value("s") == pytest.approx(10, abs=1e-6)
    assert len(gti.select_time(Time([REF + 60 * u.s, REF + 90 * u.s]))) == 0
    assert gti.contains_met([10, 60, 100, 399.9, 400]).tolist() == [True, False, True, True, False]


def test_gti_union_intersect_delete():
    gti = GTI([0, 40, 100, 150], [50, 60, 150, 160], reference_time=REF)
    union = gti.union()
    np.testing.assert_array_equal(union.met_start.value, [0, 100])
    np.testing.assert_array_equal(union.met_stop.value, [60, 160])
    separate = gti.union(merge_equal=False)
    np.testing.assert_array_equal(separate.met_start.value, [0, 100, 150])
    with pytest.raises(DatasetError, match="overlap"):
        gti.union(overlap_ok=False)
    other = GTI([30, 120], [110, 130], reference_time=REF)
    both = gti.intersect(other)
    np.testing.assert_array_equal(both.met_start.value, [30, 100, 120])
    np.testing.assert_array_equal(both.met_stop.value, [60, 110, 130])
    inter = gti.intersect(Time([REF + 45 * u.s, REF + 105 * u.s]))
    assert inter.time_sum.to_value("s") == pytest.approx(20, abs=1e-6)
    deleted = GTI([0], [100], reference_time=REF).delete_interval(
        Time([REF + 20 * u.s, REF + 30 * u.s])
    )
    np.testing.assert_allclose(deleted.met_start.value, [0, 30], atol=1e-6)
    np.testing.assert_allclose(deleted.met_stop.value, [20, 100], atol=1e-6)


def test_gti_other_reference_and_stack():
    a = GTI([0], [10], reference_time=REF)
    b = GTI([0], [10], reference_time=REF + 1 * u.d)
    a.stack(b)
    np.testing.assert_allclose(a.met_start.value, [0, 86400], atol=1e-6)
    stacked = GTI.from_stack([GTI([0], [1], REF), GTI([5], [6], REF)])
    assert len(stacked) == 2 and stacked.time_sum.value == 2
    intervals = [
        Time(["2020-01-01T00:00", "2020-01-01T01:00"]),
        Time(["2020-01-02T00:00", "2020-01-02T00:30"]),
    ]
    gti = GTI.from_time_intervals(intervals)
    assert gti.time_sum.to_value("min") == pytest.approx(90)
    assert len(gti.time_intervals) == 2
    assert gti.table.colnames == ["START", "STOP"]
    with pytest.raises(DatasetError, match="STOP"):
        GTI([10], [5])


def test_gti_time_keywords(tmp_path):
    """TIMEUNIT, TIMEZERO, MJDREF (single keyword) and TIMESYS are honoured."""
    hdu = gti_hdu([1.0], [2.0], MJDREF=55197.5, TIMESYS="TT", TIMEUNIT="d", TIMEZERO=0.5)
    hdu.name = "GTI"
    path = tmp_path / "gti.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    gti = GTI.read(path)
    # start = MJD 55197.5 + 1.5 d = MJD 55199.0 (TT)
    assert gti.time_start[0].tt.mjd == pytest.approx(55199.0, abs=1e-10)
    assert gti.time_sum.to_value("d") == pytest.approx(1.0)
    out = tmp_path / "gti_out.fits"
    gti.write(out)
    back = GTI.read(out)
    assert back.time_start[0].tt.mjd == pytest.approx(55199.0, abs=1e-10)
    with pytest.raises(OverwriteError):
        gti.write(out)
    bad = gti_hdu([1.0], [2.0], MJDREFI=55197, MJDREFF=0.5, TIMESYS="GPS")
    with pytest.raises(FormatError, match="TIMESYS"):
        GTI.from_fits_table(FitsTable(bad))


# ---------------------------------------------------------------------------- EventList
@pytest.fixture(scope="module")
def events_file(tmp_path_factory):
    """An EVENTS HDU with energies in GeV, times in seconds after MJDREF 51910 + 7.4e-4 (TT)."""
    rng = np.random.default_rng(3)
    n = 400
    columns = [
        fits.Column("EVENT_ID", "K", array=np.arange(n)),
        fits.Column("TIME", "D", unit="s", array=np.sort(rng.uniform(0, 1000, n)) + 1.0e8),
        fits.Column("RA", "E", unit="deg", array=83.6 + rng.normal(0, 0.4, n)),
        fits.Column("DEC", "E", unit="deg", array=22.0 + rng.normal(0, 0.4, n)),
        fits.Column("ENERGY", "E", unit="GeV", array=rng.uniform(100, 10000, n)),
        fits.Column("MULTIP", "I", array=rng.integers(2, 5, n)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="EVENTS")
    hdu.header.update(
        dict(
            MJDREFI=51910,
            MJDREFF=0.000742870370370241,
            TIMESYS="TT",
            TIMEUNIT="s",
            TIMEREF="local",
            OBS_ID=42,
            RA_PNT=83.6,
            DEC_PNT=22.5,
            DEADC=0.95,
            LIVETIME=950.0,
            TSTART=1.0e8,
            TSTOP=1.0e8 + 1000,
        )
    )
    path = tmp_path_factory.mktemp("events") / "events.fits.gz"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


def test_event_list_read_and_times(events_file):
    events = EventList.read(events_file)
    with fits.open(events_file) as hdulist:
        data = hdulist["EVENTS"].data
        met = np.array(data["TIME"], dtype=float)
        energy_gev = np.array(data["ENERGY"], dtype=float)
    assert len(events) == 400 and events.obs_id == 42
    np.testing.assert_allclose(events.energy_tev, energy_gev / 1000, rtol=1e-15)
    assert events.energy.unit == u.TeV
    # hand computation of the MJD (TT) of the first event
    expected = 51910 + (0.000742870370370241 + met[0] / 86400)
    assert events.time[0].scale == "tt"
    assert events.time[0].mjd == pytest.approx(expected, abs=1e-6 / 86400)
    assert events.observation_dead_time_fraction == pytest.approx(0.05)
    assert events.observation_live_time_duration.to_value("s") == 950
    assert events.observation_time_duration.to_value("s") == 1000
    assert events.pointing_radec.dec.deg == 22.5
    table = events.table
    assert isinstance(table["TIME"], Time) and table["ENERGY"].unit == u.TeV
    assert "MULTIP" in table.colnames


def test_event_list_selections(events_file):
    events = EventList.read(events_file)
    energy = events.energy_tev
    sel = events.select_energy([1, 5] * u.TeV)
    assert len(sel) == int(np.sum((energy >= 1) & (energy < 5)))
    t0 = events.time[100]
    sel = events.select_time(Time([t0, t0 + 100 * u.s]))
    assert sel.time[0] == t0 and np.all(sel.time < t0 + 100 * u.s)
    region = CircleSkyRegion(SkyCoord(83.6, 22.0, unit="deg"), 0.3 * u.deg)
    inside = events.select_region(region)
    separation = SkyCoord(83.6, 22.0, unit="deg").separation(events.radec).deg
    # the TAN projection of a 0.3 deg circle matches the spherical cap to < 1e-4 deg
    assert len(inside) == int(np.sum(separation < 0.3))
    both = events.select_region(
        [region, CircleSkyRegion(SkyCoord(84.5, 22.0, unit="deg"), 0.3 * u.deg)]
    )
    assert len(both) >= len(inside)
    offset = events.offset.deg
    sel = events.select_offset([0.2, 0.6] * u.deg)
    assert len(sel) == int(np.sum((offset >= 0.2) & (offset < 0.6)))
    sel = events.select_parameter("MULTIP", (3, 4))
    assert np.all(sel.column("MULTIP") == 3)
    sel = events.select_parameter("MULTIP", [2, 4], is_range=False)
    assert set(np.unique(sel.column("MULTIP"))) <= {2, 4}
    sel = events.select_row_subset(np.arange(10))
    assert len(sel) == 10 and sel.meta is events.meta
    counts = events.counts_by_energy([0.1, 1, 10] * u.TeV)
    assert counts.sum() == len(events) and counts[0] == np.sum(energy < 1)


def test_event_list_roundtrip_and_stack(events_file, tmp_path):
    events = EventList.read(events_file)
    gti = GTI([1.0e8], [1.0e8 + 1000], reference_time=events.time_ref)
    out = tmp_path / "events_out.fits"
    events.write(out, gti=gti)
    back = EventList.read(out)
    np.testing.assert_array_equal(back.met, events.met)
    np.testing.assert_allclose(back.energy_tev, events.energy_tev, rtol=1e-15)
    assert back.time_ref == events.time_ref
    assert GTI.read(out).time_sum.to_value("s") == 1000
    first, second = (
        events.select_row_subset(slice(0, 150)),
        events.select_row_subset(slice(150, None)),
    )
    stacked = EventList.from_stack([first, second])
    np.testing.assert_array_equal(stacked.met, events.met)
    from_table = EventList(events.table)
    np.testing.assert_allclose(from_table.met, events.met, atol=1e-6)


def test_event_list_validation():
    with pytest.raises(FormatError, match="missing column"):
        EventList(Table({"ENERGY": [1.0], "RA": [1.0], "DEC": [1.0]}))
    with pytest.raises(DatasetError, match="astropy Table"):
        EventList({"ENERGY": [1.0]})


# ---------------------------------------------------------------------------- ObservationTable
def test_observation_table_in_memory():
    table = ObservationTable(
        {
            "OBS_ID": [1, 2, 3],
            "RA_PNT": [10.0, 10.5, 50.0],
            "DEC_PNT": [0.0, 0.0, 0.0],
            "TSTART": [0.0, 1000.0, 5000.0],
            "TSTOP": [900.0, 1900.0, 5900.0],
        }
    )
    table["RA_PNT"].unit = table["DEC_PNT"].unit = "deg"
    table["TSTART"].unit = table["TSTOP"].unit = "s"
    table.meta.update(MJDREFI=55197, MJDREFF=0.0, TIMESYS="TT")
    sel = table.select_sky_circle(SkyCoord(10, 0, unit="deg"), 0.6 * u.deg)
    assert list(sel["OBS_ID"]) == [1, 2]
    start = Time(55197, format="mjd", scale="tt")
    box = table.select_time_range(Time([start + 500 * u.s, start + 2000 * u.s]))
    assert list(box["OBS_ID"]) == [2]
    box = table.select_time_range(
        Time([start + 500 * u.s, start + 2000 * u.s]), partial_overlap=True
    )
    assert list(box["OBS_ID"]) == [1, 2]
    assert list(table.select_obs_id([3, 1])["OBS_ID"]) == [3, 1]
    with pytest.raises(DatasetError, match="OBS_ID 9"):
        table.select_obs_id(9)
    with pytest.raises(FormatError, match="ZEN_PNT"):
        table.select_range("ZEN_PNT", [0, 1])


def test_vector_core_column_is_refused(data_dir, tmp_path):
    """A TIME column with two values per row (found by the fuzz suite) is a named error."""
    source = data_dir / "gammapy-data/hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz"
    with fits.open(source) as hdul:
        events = hdul["EVENTS"]
        columns = []
        for column in events.columns:
            if column.name == "TIME":
                values = np.repeat(events.data["TIME"][:, None], 2, axis=1)
                column = fits.Column("TIME", "2D", unit=column.unit, array=values)
            columns.append(column)
        table = fits.BinTableHDU.from_columns(columns, header=events.header, name="EVENTS")
        fits.HDUList([fits.PrimaryHDU(), table]).writeto(tmp_path / "events.fits")
    with pytest.raises(FormatError, match=r"TIME.*vector column"):
        EventList.read(tmp_path / "events.fits")
