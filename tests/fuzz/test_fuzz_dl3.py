"""Fuzz the GADF DL3 readers: event lists, GTIs, the six IRF classes and DataStore index tables.

Synthetic files are written with fluxfit's own writers (``to_table_hdu``), damaged by
`_fuzzlib.mutate_fits` / `mutate_bytes`, and read back; every case must read or raise a
`fluxfit.errors.FluxfitError`.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import attempt, hdul_bytes, mutate_bytes, mutate_fits, write_case
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.data import GTI, DataStore, EventList
from fluxfit.irf.gadf import (
    Background2D,
    Background3D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSF3Gauss,
    PSFTable,
    read_irf,
)
from fluxfit.maps import MapAxis

MJDREFI, MJDREFF = 51910, 0.000742870370370241
TIME_REF = Time(MJDREFI, MJDREFF, format="mjd", scale="tt")
TSTART = 2.0e8

EVENT_KEYWORDS = (
    "MJDREFI",
    "MJDREFF",
    "MJDREF",
    "TIMESYS",
    "TIMEUNIT",
    "TIMEZERO",
    "EUNIT",
    "OBS_ID",
    "RA_PNT",
    "DEC_PNT",
    "DEADC",
    "LIVETIME",
    "ONTIME",
    "TSTART",
    "TSTOP",
    "TUNIT2",
)
IRF_KEYWORDS = (
    "HDUCLAS2",
    "HDUCLAS3",
    "HDUCLAS4",
    "FOVALIGN",
    "TDIM5",
    "TDIM7",
    "TUNIT1",
    "TUNIT5",
)
INDEX_KEYWORDS = ("BASE_DIR", "EXTNAME", "HDUCLAS2", "MJDREFI", "TIMESYS")


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _irfs() -> dict:
    energy_true = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 6, name="energy_true")
    offset = MapAxis.from_edges([0.0, 1.0, 2.0, 3.0], unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5.0, 12, name="migra")
    rad = MapAxis.from_bounds(0.0, 1.0, 10, unit="deg", name="rad")
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 4, name="energy")
    lon = MapAxis.from_bounds(-3, 3, 4, unit="deg", name="fov_lon")
    lat = MapAxis.from_bounds(-3, 3, 4, unit="deg", name="fov_lat")
    area = np.outer(np.linspace(1e4, 1e5, 6), [1.0, 0.8, 0.5])
    sigma = np.deg2rad(0.1)
    r = rad.center.to_value("rad")
    pdf = np.exp(-0.5 * (r / sigma) ** 2) / (2 * np.pi * sigma**2)
    ones = np.ones((6, 3))
    return {
        "aeff_2d": EffectiveAreaTable2D([energy_true, offset], data=area, unit="m2"),
        "edisp_2d": EnergyDispersion2D.from_gauss(energy_true, migra, offset, bias=0.0, sigma=0.2),
        "psf_table": PSFTable(
            [energy_true, offset, rad], data=np.broadcast_to(pdf, (6, 3, 10)), unit="sr-1"
        ),
        "psf_3gauss": PSF3Gauss(
            [energy_true, offset],
            dict(
                sigma_1=0.1 * ones,
                sigma_2=0.2 * ones,
                sigma_3=0.3 * ones,
                scale=ones,
                ampl_2=0.1 * ones,
                ampl_3=0.01 * ones,
            ),
        ),
        "bkg_3d": Background3D(
            [energy, lon, lat],
            data=np.exp(-np.arange(4))[:, None, None] * np.ones((4, 4, 4)) * 1e-4,
            unit="s-1 MeV-1 sr-1",
        ),
        "bkg_2d": Background2D(
            [energy, offset],
            data=np.outer(np.exp(-np.arange(4)), [1.0, 0.9, 0.5]) * 1e-4,
            unit="s-1 MeV-1 sr-1",
        ),
    }


def _events_hdu(n_events=50, obs_id=1) -> fits.BinTableHDU:
    rng = np.random.default_rng(obs_id)
    pointing = SkyCoord(83.63, 22.51, unit="deg")
    table = Table(
        {
            "EVENT_ID": np.arange(n_events, dtype=np.int64),
            "TIME": np.sort(rng.uniform(TSTART, TSTART + 1800, n_events)) * u.s,
            "RA": (pointing.ra.deg + rng.normal(0, 0.5, n_events)) * u.deg,
            "DEC": (pointing.dec.deg + rng.normal(0, 0.5, n_events)) * u.deg,
            "ENERGY": rng.uniform(0.2, 50, n_events) * u.TeV,
        }
    )
    table.meta = {
        "OBS_ID": obs_id,
        "MJDREFI": MJDREFI,
        "MJDREFF": MJDREFF,
        "TIMESYS": "TT",
        "TIMEUNIT": "s",
        "TIMEREF": "local",
        "TSTART": TSTART,
        "TSTOP": TSTART + 1800,
        "RA_PNT": pointing.ra.deg,
        "DEC_PNT": pointing.dec.deg,
        "DEADC": 0.9,
        "LIVETIME": 1620.0,
        "ONTIME": 1800.0,
    }
    return EventList(table).to_table_hdu()


def _gti_hdu() -> fits.BinTableHDU:
    gti = GTI([TSTART, TSTART + 1000.0], [TSTART + 900.0, TSTART + 1800.0], reference_time=TIME_REF)
    return gti.to_table_hdu()


@functools.cache
def base_files() -> dict[str, bytes]:
    files = {
        "events": hdul_bytes(fits.HDUList([fits.PrimaryHDU(), _events_hdu()])),
        "gti": hdul_bytes(fits.HDUList([fits.PrimaryHDU(), _gti_hdu()])),
    }
    irfs = _irfs()
    for name, irf in irfs.items():
        files[name] = hdul_bytes(fits.HDUList([fits.PrimaryHDU(), irf.to_table_hdu()]))
    # a data store: one run file (events, GTI, four IRFs) and the two index files
    names = {"aeff": "AEFF", "edisp": "EDISP", "psf": "PSF", "bkg": "BKG"}
    classes = {"aeff": "aeff_2d", "edisp": "edisp_2d", "psf": "psf_table", "bkg": "bkg_3d"}
    run = [fits.PrimaryHDU(), _events_hdu(), _gti_hdu()]
    run += [irfs[classes[kind]].to_table_hdu(name=hdu) for kind, hdu in names.items()]
    files["run"] = hdul_bytes(fits.HDUList(run))
    rows = [(1, "events", "events", "data", "run1.fits", "EVENTS")]
    rows += [(1, "gti", "gti", "data", "run1.fits", "GTI")]
    rows += [(1, kind, classes[kind], "data", "run1.fits", hdu) for kind, hdu in names.items()]
    hdu_table = Table(
        rows=rows, names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"]
    )
    hdu_table.meta = {"EXTNAME": "HDU_INDEX", "HDUCLASS": "GADF", "HDUCLAS1": "INDEX"}
    files["hdu_index"] = hdul_bytes(fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(hdu_table)]))
    obs_table = Table(
        rows=[(1, 83.63, 22.51, 30.0, TSTART, TSTART + 1800)],
        names=["OBS_ID", "RA_PNT", "DEC_PNT", "ZEN_PNT", "TSTART", "TSTOP"],
    )
    for name in ("RA_PNT", "DEC_PNT", "ZEN_PNT"):
        obs_table[name].unit = "deg"
    obs_table["TSTART"].unit = obs_table["TSTOP"].unit = "s"
    obs_table.meta = {
        "EXTNAME": "OBS_INDEX",
        "HDUCLASS": "GADF",
        "MJDREFI": MJDREFI,
        "MJDREFF": MJDREFF,
        "TIMESYS": "TT",
    }
    files["obs_index"] = hdul_bytes(fits.HDUList([fits.PrimaryHDU(), fits.table_to_hdu(obs_table)]))
    return files


def _case_folder():
    return tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-")


# ------------------------------------------------------------------------------------ events, GTI
@given(data=st.data())
def test_fuzz_event_list(data):
    raw = mutate_bytes(data, mutate_fits(data, base_files()["events"], EVENT_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "events.fits", raw)
        events, _ = attempt("GADF event list", lambda: _quietly(EventList.read, path), [path.name])
        if events is not None:
            n = len(events)
            assert events.energy.shape == events.time.shape == (n,)
            assert np.all(np.isfinite(events.met))


@given(data=st.data())
def test_fuzz_gti(data):
    raw = mutate_bytes(data, mutate_fits(data, base_files()["gti"], EVENT_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "gti.fits", raw)
        gti, _ = attempt("GTI", lambda: _quietly(GTI.read, path), [path.name])
        if gti is not None:
            assert np.all(gti.met_stop >= gti.met_start)
            assert np.isfinite(gti.time_sum.value)


# ------------------------------------------------------------------------------------ IRFs
IRF_CLASSES = {
    "aeff_2d": EffectiveAreaTable2D,
    "edisp_2d": EnergyDispersion2D,
    "psf_table": PSFTable,
    "psf_3gauss": PSF3Gauss,
    "bkg_3d": Background3D,
    "bkg_2d": Background2D,
}


def _fuzz_irf(data, hdu_class: str):
    raw = mutate_bytes(data, mutate_fits(data, base_files()[hdu_class], IRF_KEYWORDS))
    cls = IRF_CLASSES[hdu_class]
    with _case_folder() as folder:
        path = write_case(folder, f"{hdu_class}.fits", raw)
        how = data.draw(st.sampled_from(["read", "read_irf"]), label="how")
        if how == "read":
            call = lambda: _quietly(cls.read, path)  # noqa: E731
        else:
            hdu = data.draw(st.sampled_from([1, cls.default_extname, "NOPE", 5]), label="hdu")
            call = lambda: _quietly(read_irf, path, hdu, hdu_class, obs_id=7)  # noqa: E731
        irf, _ = attempt(f"IRF {hdu_class}", call, [path.name])
        if irf is not None:
            if isinstance(irf, PSF3Gauss):
                for values in irf.data.values():
                    assert values.shape == irf.axes.shape
            else:
                assert irf.data.shape == irf.axes.shape
            evaluate = irf.evaluate if not isinstance(irf, PSF3Gauss) else None
            if evaluate is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    assert np.shape(evaluate()) == irf.axes.shape


@given(data=st.data())
def test_fuzz_irf_aeff_2d(data):
    _fuzz_irf(data, "aeff_2d")


@given(data=st.data())
def test_fuzz_irf_edisp_2d(data):
    _fuzz_irf(data, "edisp_2d")


@given(data=st.data())
def test_fuzz_irf_psf_table(data):
    _fuzz_irf(data, "psf_table")


@given(data=st.data())
def test_fuzz_irf_psf_3gauss(data):
    _fuzz_irf(data, "psf_3gauss")


@given(data=st.data())
def test_fuzz_irf_bkg_3d(data):
    _fuzz_irf(data, "bkg_3d")


@given(data=st.data())
def test_fuzz_irf_bkg_2d(data):
    _fuzz_irf(data, "bkg_2d")


# ------------------------------------------------------------------------------------ DataStore
FILE_DIRS = ("data", "", ".", "../data", "/tmp", "data/../data", "nowhere")


def _load_everything(store_dir: Path, allow_outside: bool):
    store = DataStore.from_dir(store_dir, allow_outside=allow_outside)
    observations = store.get_observations(required_irf="all-optional")
    loaded = []
    for obs in observations:
        loaded.append(
            (obs.events, obs.gti, obs.aeff, obs.edisp, obs.psf, obs.bkg, obs.pointing_radec)
        )
    if store.obs_table is not None:
        _ = store.obs_table.pointing_radec, store.obs_table.time_start
    return store, loaded


def _fuzz_store(data, reader: str, damaged_choices):
    files = dict(base_files())
    damaged = data.draw(st.sampled_from(damaged_choices), label="damaged file")
    keywords = INDEX_KEYWORDS if damaged != "run" else EVENT_KEYWORDS + IRF_KEYWORDS
    files[damaged] = mutate_bytes(data, mutate_fits(data, files[damaged], keywords))
    file_dir = data.draw(st.sampled_from(FILE_DIRS), label="FILE_DIR of row 0")
    allow_outside = data.draw(st.booleans(), label="allow_outside")
    with _case_folder() as root:
        store_dir = Path(root) / "store"
        write_case(store_dir, "hdu-index.fits.gz", files["hdu_index"])
        write_case(store_dir, "obs-index.fits.gz", files["obs_index"])
        write_case(store_dir / "data", "run1.fits", files["run"])
        write_case(root, "data/run1.fits", files["run"])  # reachable only through '..'
        if file_dir != "data":
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with fits.open(store_dir / "hdu-index.fits.gz") as hdul:
                        table = Table.read(hdul[1])
                    table["FILE_DIR"] = table["FILE_DIR"].astype("U20")
                    table["FILE_DIR"][0] = file_dir
                    table.write(store_dir / "hdu-index.fits.gz", overwrite=True)
            except Exception:  # the damaged index cannot be edited: keep it as it is
                pass
        result, _ = attempt(
            reader,
            lambda: _quietly(_load_everything, store_dir, allow_outside),
            ["hdu-index.fits.gz", "obs-index.fits.gz", "run1.fits", "obs_id", "observation"],
        )
        if result is not None and not allow_outside:
            store, _ = result
            for row in range(len(store.hdu_table)):
                location = store.hdu_table.location_info(row)
                assert location.path.resolve().is_relative_to(store_dir.resolve())


@given(data=st.data())
def test_fuzz_hdu_index(data):
    """The HDU index (and the run file it points to) damaged; FILE_DIR rewritten."""
    _fuzz_store(data, "HDU index (DataStore)", ["hdu_index", "hdu_index", "run"])


@given(data=st.data())
def test_fuzz_obs_index(data):
    """The observation index damaged, read by the data store (pointings and times used)."""
    _fuzz_store(data, "observation index (DataStore)", ["obs_index"])
