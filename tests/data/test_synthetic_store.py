"""fluxfit.data on small synthetic DL3 stores: lazy loading, time pieces and damaged files.

Every damaged input must raise a fluxfit error naming the file, the HDU / column and the
observation id, when accessed (not a KeyError from deep inside astropy).
"""

import gzip
import itertools
import logging
import pickle
import re
import shutil

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.data import DataStore, Observation, Observations
from fluxfit.errors import DatasetError, FormatError, MissingFileError, UnitError

MJDREFI, MJDREFF = 51910, 0.000742870370370241
TIME_REF = Time(MJDREFI, MJDREFF, format="mjd", scale="tt")


def met_time(seconds):
    return TIME_REF + seconds * u.s


@pytest.fixture(scope="module")
def store(synthetic_store_dir):
    return DataStore.from_dir(synthetic_store_dir)


@pytest.fixture
def store_copy(synthetic_store_dir, tmp_path):
    """A private copy of the synthetic store to damage."""
    target = tmp_path / "store"
    shutil.copytree(synthetic_store_dir, target)
    return target


def rewrite_hdu_index(folder, edit):
    path = folder / "hdu-index.fits.gz"
    table = Table.read(path)
    table = edit(table) or table
    table.write(path, overwrite=True)
    return path


def rewrite_run_file(folder, obs_id, edit):
    path = folder / "data" / f"obs_{obs_id:06d}.fits.gz"
    with fits.open(path) as hdulist:
        hdus = fits.HDUList([hdu.copy() for hdu in hdulist])
    hdus = edit(hdus) or hdus
    hdus.writeto(path, overwrite=True)
    return path


# ---------------------------------------------------------------------------- happy path
def test_store_reads_lazily(store):
    obs = store.obs(1)
    assert obs._source.cache == {}
    assert obs.available_irfs == ["aeff", "edisp", "psf", "bkg"]
    assert obs.observation_dead_time_fraction == pytest.approx(0.1)
    assert "events" not in obs._source.cache  # the header alone was read
    assert len(obs.events) == 500
    assert obs.observation_live_time_duration.to_value("s") == pytest.approx(1620.0)
    assert obs.bkg.fov_alignment == "RADEC"
    assert obs.target_radec.dec.deg == pytest.approx(22.51 + 0.5)


def test_time_pieces(store):
    observations = store.get_observations()
    assert observations.ids == ["1", "2"]
    edges = met_time(np.array([2.0e8 - 100, 2.0e8 + 1000, 2.0e8 + 4000, 2.0e8 + 9000]))
    intervals = [Time([a, b]) for a, b in itertools.pairwise(edges)]
    pieces = observations.select_time(intervals)
    # obs 1 (0-1800 s) is cut at 1000 s, obs 2 (3600-5400 s) at 4000 s
    assert [p.obs_id for p in pieces] == [1, 1, 2, 2]
    durations = [p.observation_time_duration.to_value("s") for p in pieces]
    np.testing.assert_allclose(durations, [1000, 800, 400, 1400], rtol=1e-9)
    livetimes = [p.observation_live_time_duration.to_value("s") for p in pieces]
    np.testing.assert_allclose(livetimes, np.array(durations) * 0.9, rtol=1e-9)
    assert sum(len(p.events) for p in pieces) == 1000
    for piece in pieces:
        met = piece.events.met
        start, stop = piece.gti.met_start[0].value, piece.gti.met_stop[-1].value
        assert np.all((met >= start) & (met < stop))
    # every event of obs 1 lands in exactly one piece
    all_met = np.concatenate([p.events.met for p in pieces if p.obs_id == 1])
    np.testing.assert_array_equal(np.sort(all_met), store.obs(1).events.met)
    # a single Time interval works as well
    assert len(observations.select_time(intervals[0])) == 1


def test_piece_without_events_is_well_formed(store):
    obs = store.obs(1)
    met = obs.events.met
    gap = np.argmax(np.diff(met))
    interval = Time([met_time(met[gap] + 1e-3), met_time(met[gap + 1] - 1e-3)])
    pieces = Observations([obs]).select_time([interval])
    assert len(pieces) == 1
    piece = pieces[0]
    assert len(piece.events) == 0
    assert piece.events.counts_by_energy([0.1, 1, 10] * u.TeV).tolist() == [0, 0]
    assert piece.observation_live_time_duration.to_value("s") > 0
    assert piece.events.energy.unit == u.TeV
    assert len(piece.events.select_region("icrs;circle(83.63, 22.51, 0.5)")) == 0
    assert piece.aeff is obs.aeff


def test_observation_pickles_with_lazy_state(store):
    obs = store.obs(2)
    clone = pickle.loads(pickle.dumps(obs))
    assert clone.obs_id == 2 and len(clone.events) == 500
    memory = obs.copy(in_memory=True)
    assert memory._source is None and len(memory.events) == 500
    assert memory.meta["OBS_ID"] == 2
    assert clone.aeff.evaluate(energy_true=1 * u.TeV, offset=0.5 * u.deg).unit == u.m**2


def test_in_memory_observation_create():
    from astropy.coordinates import SkyCoord

    obs = Observation.create(
        SkyCoord(10, 20, unit="deg"),
        livetime=2 * u.h,
        deadtime_fraction=0.05,
        obs_id=7,
        tstart=Time("2021-03-01T00:00:00"),
    )
    assert obs.available_hdus == ["gti"]
    assert obs.observation_live_time_duration.to_value("h") == pytest.approx(1.9)
    assert obs.tstart.isot == "2021-03-01T00:00:00.000"
    with pytest.raises(FormatError, match="observation 7: no 'aeff'"):
        obs.aeff  # noqa: B018
    with pytest.raises(DatasetError, match="unknown IRF"):
        Observation.create(SkyCoord(10, 20, unit="deg"), livetime=1 * u.h, irfs={"foo": 1})


# ---------------------------------------------------------------------------- damaged indexes
def test_missing_index_column(store_copy):
    rewrite_hdu_index(store_copy, lambda t: t.remove_column("HDU_NAME"))
    with pytest.raises(
        FormatError, match=r"hdu-index\.fits\.gz.*missing column\(s\) \['HDU_NAME'\]"
    ):
        DataStore.from_dir(store_copy)


def test_bad_hdu_type_row(store_copy):
    def edit(table):
        table["HDU_TYPE"] = table["HDU_TYPE"].astype("U8")
        table["HDU_TYPE"][3] = "aef"

    rewrite_hdu_index(store_copy, edit)
    with pytest.raises(FormatError) as info:
        DataStore.from_dir(store_copy)
    message = str(info.value)
    assert "hdu-index.fits.gz" in message and "row 3" in message and "obs_id 1" in message
    assert "HDU_TYPE = 'aef'" in message


def test_bad_hdu_class_and_empty_file_name(store_copy):
    def edit(table):
        table["HDU_CLASS"] = table["HDU_CLASS"].astype("U12")
        table["HDU_CLASS"][7] = "aeff_3d"

    rewrite_hdu_index(store_copy, edit)
    with pytest.raises(FormatError, match=r"row 7 \(obs_id 2\).*HDU_CLASS = 'aeff_3d'"):
        DataStore.from_dir(store_copy)

    def edit_name(table):
        table["HDU_CLASS"][7] = "events"
        table["FILE_NAME"][5] = ""

    rewrite_hdu_index(store_copy, edit_name)
    with pytest.raises(FormatError, match=r"row 5 \(obs_id 1\).*FILE_NAME is empty"):
        DataStore.from_dir(store_copy)


def test_corrupted_index_file(store_copy):
    path = store_copy / "hdu-index.fits.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(FormatError, match=re.escape("hdu-index.fits.gz")):
        DataStore.from_dir(store_copy)
    (store_copy / "hdu-index.fits.gz").unlink()
    with pytest.raises(MissingFileError, match=re.escape("hdu-index.fits.gz")):
        DataStore.from_dir(store_copy)


def test_base_dir_keyword_and_index_paths(store_copy):
    index_dir = store_copy / "index"
    index_dir.mkdir()
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        (store_copy / name).rename(index_dir / name)
    with fits.open(index_dir / "hdu-index.fits.gz") as hdulist:
        hdus = fits.HDUList([hdu.copy() for hdu in hdulist])
    hdus[1].header["BASE_DIR"] = ".."  # relative to the index file's folder
    hdus.writeto(index_dir / "hdu-index.fits.gz", overwrite=True)
    store = DataStore.from_dir(index_dir)
    assert store.hdu_table.base_dir == index_dir / ".."
    assert len(store.obs(1).events) == 500
    hdus[1].header["BASE_DIR"] = str(store_copy)  # absolute
    hdus.writeto(index_dir / "hdu-index.fits.gz", overwrite=True)
    store = DataStore.from_dir(
        store_copy,
        hdu_table_filename=index_dir / "hdu-index.fits.gz",
        obs_table_filename="index/obs-index.fits.gz",
    )
    assert store.hdu_table.base_dir == store_copy and len(store.obs_table) == 2
    assert len(store.obs(2).events) == 500
    # both index tables in one file
    both = store_copy / "index.fits"
    with (
        fits.open(index_dir / "hdu-index.fits.gz") as h1,
        fits.open(index_dir / "obs-index.fits.gz") as h2,
    ):
        fits.HDUList([fits.PrimaryHDU(), h1[1].copy(), h2[1].copy()]).writeto(both)
    store = DataStore.from_file(both)
    assert store.obs_ids.tolist() == [1, 2] and len(store.obs(1).gti) == 1


def test_missing_obs_index(store_copy):
    (store_copy / "obs-index.fits.gz").unlink()
    store = DataStore.from_dir(store_copy)
    assert store.obs_table is None and len(store.get_observations()) == 2
    with pytest.raises(MissingFileError, match=re.escape("other-index.fits")):
        DataStore.from_dir(store_copy, obs_table_filename="other-index.fits")


def test_obs_index_without_obs_id(store_copy):
    path = store_copy / "obs-index.fits.gz"
    table = Table.read(path)
    table.remove_column("OBS_ID")
    table.write(path, overwrite=True)
    with pytest.raises(FormatError, match=r"obs-index\.fits\.gz.*missing column 'OBS_ID'"):
        DataStore.from_dir(store_copy)


# ---------------------------------------------------------------------------- damaged runs
def test_missing_irf_row_is_skipped_or_raises_on_access(store_copy, caplog):
    def edit(table):
        keep = ~((table["OBS_ID"] == 2) & (table["HDU_TYPE"] == "psf"))
        return table[keep]

    rewrite_hdu_index(store_copy, edit)
    store = DataStore.from_dir(store_copy)
    with caplog.at_level(logging.WARNING, logger="fluxfit.data.data_store"):
        observations = store.get_observations()
    assert observations.ids == ["1"]
    assert "Skipping observation 2" in caplog.text and "['psf']" in caplog.text
    obs = store.get_observations(required_irf="point-like")[1]
    assert obs.available_irfs == ["aeff", "edisp", "bkg"]
    with pytest.raises(FormatError) as info:
        obs.psf  # noqa: B018
    assert "observation 2" in str(info.value) and "'psf'" in str(info.value)
    assert "hdu-index.fits.gz" in str(info.value)
    with pytest.raises(FormatError, match="required HDU"):
        store.obs(2)


def test_missing_hdu_in_file(store_copy):
    def edit(hdus):
        del hdus["EDISP"]

    path = rewrite_run_file(store_copy, 1, edit)
    obs = DataStore.from_dir(store_copy).obs(1)
    assert len(obs.events) == 500  # the other HDUs still read
    with pytest.raises(FormatError) as info:
        obs.edisp  # noqa: B018
    message = str(info.value)
    assert str(path) in message and "'EDISP'" in message and "obs_id 1" in message
    assert "HDUs present" in message


def test_missing_run_file(store_copy):
    path = store_copy / "data" / "obs_000002.fits.gz"
    path.unlink()
    obs = DataStore.from_dir(store_copy).obs(2)
    with pytest.raises(MissingFileError) as info:
        obs.events  # noqa: B018
    assert str(path) in str(info.value) and "obs_id 2" in str(info.value)


def test_truncated_run_file(store_copy):
    path = store_copy / "data" / "obs_000001.fits.gz"
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data[: len(data) // 3]))
    obs = DataStore.from_dir(store_copy).obs(1)
    with pytest.raises(FormatError) as info:
        obs.bkg  # noqa: B018
    assert str(path) in str(info.value) and "obs_id 1" in str(info.value)


def test_events_missing_column_and_bad_unit(store_copy):
    def drop_energy(hdus):
        table = Table.read(hdus["EVENTS"])
        table.remove_column("ENERGY")
        hdus["EVENTS"] = fits.table_to_hdu(table)
        hdus["EVENTS"].name = "EVENTS"

    path = rewrite_run_file(store_copy, 1, drop_energy)
    with pytest.raises(FormatError) as info:
        DataStore.from_dir(store_copy).obs(1).events  # noqa: B018
    message = str(info.value)
    assert str(path) in message and "'EVENTS'" in message and "'ENERGY'" in message
    assert "obs_id 1" in message

    def bad_unit(hdus):
        hdus["EVENTS"].columns["RA"].unit = "m"

    rewrite_run_file(store_copy, 2, bad_unit)
    with pytest.raises(UnitError, match=r"column 'RA'.*unit m is not convertible to deg"):
        DataStore.from_dir(store_copy).obs(2).events  # noqa: B018


def test_bad_time_keywords(store_copy):
    def bad_timesys(hdus):
        hdus["EVENTS"].header["TIMESYS"] = "MARS"

    rewrite_run_file(store_copy, 1, bad_timesys)
    with pytest.raises(
        FormatError, match=r"'TIMESYS' = 'MARS'.*obs_id 1|obs_id 1.*'TIMESYS' = 'MARS'"
    ):
        DataStore.from_dir(store_copy).obs(1).events  # noqa: B018

    def no_mjdref(hdus):
        del hdus["GTI"].header["MJDREFI"]
        del hdus["GTI"].header["MJDREFF"]

    rewrite_run_file(store_copy, 2, no_mjdref)
    with pytest.raises(FormatError, match=r"'GTI'.*obs_id 2.*MJDREFI"):
        DataStore.from_dir(store_copy).obs(2).gti  # noqa: B018


def test_irf_missing_column(store_copy):
    def drop(hdus):
        table = Table.read(hdus["AEFF"])
        table.remove_column("EFFAREA")
        hdus["AEFF"] = fits.table_to_hdu(table)
        hdus["AEFF"].name = "AEFF"

    path = rewrite_run_file(store_copy, 2, drop)
    with pytest.raises(FormatError) as info:
        DataStore.from_dir(store_copy).obs(2).aeff  # noqa: B018
    message = str(info.value)
    assert str(path) in message and "'AEFF'" in message and "'EFFAREA'" in message
    assert "obs_id 2" in message


def test_get_observations_rejects_unknown_required_irf(store):
    with pytest.raises(DatasetError, match="required_irf"):
        store.get_observations(required_irf="everything")
    with pytest.raises(DatasetError, match="not valid"):
        store.get_observations(required_irf=["aeff", "psff"])
    with pytest.raises(DatasetError, match="not in the HDU index"):
        store.obs(99)
