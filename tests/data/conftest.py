"""Fixtures for fluxfit.data: the H.E.S.S. DL3 DR1 store, seed 003's pieces, synthetic stores."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit.data import GTI, DataStore, EventList
from fluxfit.irf.gadf import (
    Background3D,
    EffectiveAreaTable2D,
    EnergyDispersion2D,
    PSFTable,
)
from fluxfit.maps import MapAxis

HESS = "gammapy-data/hess-dl3-dr1"
HERE = Path(__file__).parent

#: Seed 003 (Gammapy's time-resolved spectroscopy tutorial on PKS 2155-304).
PKS2155 = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")
SEED_SELECTION = dict(
    type="sky_circle", frame="icrs", lon=PKS2155.ra, lat=PKS2155.dec, radius=2 * u.deg
)


def seed_time_intervals():
    t0 = Time("2006-07-29T20:30")
    times = t0 + np.arange(25) * 15 * u.min
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


@pytest.fixture(scope="session")
def hess_dir(data_dir) -> Path:
    path = data_dir / HESS
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def hess_store(hess_dir) -> DataStore:
    return DataStore.from_dir(hess_dir)


@pytest.fixture(scope="session")
def wf3_reference(reference_dir) -> dict:
    path = reference_dir / "gammapy" / "wf3_time_resolved.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def gammapy_reference() -> dict:
    return json.loads((HERE / "gammapy_dl3_reference.json").read_text())


@pytest.fixture(scope="session")
def seed_observations(hess_store):
    obs_ids = hess_store.obs_table.select_observations(SEED_SELECTION)["OBS_ID"]
    return hess_store.get_observations(obs_ids)


@pytest.fixture(scope="session")
def seed_pieces(seed_observations):
    return seed_observations.select_time(seed_time_intervals())


# ---------------------------------------------------------------------------- synthetic store
MJDREFI, MJDREFF = 51910, 0.000742870370370241
TIME_REF = Time(MJDREFI, MJDREFF, format="mjd", scale="tt")


def synthetic_irfs():
    """Small full-enclosure IRFs (flat in offset)."""
    energy_true = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 12, name="energy_true")
    offset = MapAxis.from_edges([0.0, 1.0, 2.0, 3.0], unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5.0, 48, name="migra")
    rad = MapAxis.from_bounds(0.0, 1.0, 50, unit="deg", name="rad")
    energy = MapAxis.from_energy_bounds("0.1 TeV", "100 TeV", 6, name="energy")
    lon = MapAxis.from_bounds(-3, 3, 6, unit="deg", name="fov_lon")
    lat = MapAxis.from_bounds(-3, 3, 6, unit="deg", name="fov_lat")
    area = np.outer(np.linspace(1e4, 1e5, 12), [1.0, 0.8, 0.5])
    aeff = EffectiveAreaTable2D([energy_true, offset], data=area, unit="m2")
    edisp = EnergyDispersion2D.from_gauss(energy_true, migra, offset, bias=0.0, sigma=0.15)
    sigma = np.deg2rad(0.1)
    r = rad.center.to_value("rad")
    pdf = np.exp(-0.5 * (r / sigma) ** 2) / (2 * np.pi * sigma**2)
    psf = PSFTable([energy_true, offset, rad], data=np.broadcast_to(pdf, (12, 3, 50)), unit="sr-1")
    rate = np.exp(-np.arange(6))[:, None, None] * np.ones((6, 6, 6)) * 1e-4
    bkg = Background3D([energy, lon, lat], data=rate, unit="s-1 MeV-1 sr-1")
    return {"aeff": aeff, "edisp": edisp, "psf": psf, "bkg": bkg}


def synthetic_events(obs_id, tstart, duration, n_events, rng, pointing):
    met = np.sort(rng.uniform(tstart, tstart + duration, n_events))
    table = Table(
        {
            "EVENT_ID": np.arange(n_events, dtype=np.int64),
            "TIME": met * u.s,
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
        "TSTART": tstart,
        "TSTOP": tstart + duration,
        "RA_PNT": pointing.ra.deg,
        "DEC_PNT": pointing.dec.deg,
        "RA_OBJ": pointing.ra.deg,
        "DEC_OBJ": pointing.dec.deg + 0.5,
        "DEADC": 0.9,
        "LIVETIME": 0.9 * duration,
        "ONTIME": duration,
    }
    return EventList(table)


def write_synthetic_store(
    folder: Path,
    obs_ids=(1, 2),
    tstarts=(2.0e8, 2.0e8 + 3600.0),
    duration=1800.0,
    n_events=500,
    seed=1,
):
    """Write a small DL3 store (one gzipped file per observation, both index files)."""
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    irfs = synthetic_irfs()
    pointing = SkyCoord(83.63, 22.51, unit="deg")
    hdu_rows, obs_rows = [], []
    for obs_id, tstart in zip(obs_ids, tstarts):
        events = synthetic_events(obs_id, tstart, duration, n_events, rng, pointing)
        gti = GTI([tstart], [tstart + duration], reference_time=TIME_REF)
        hdus = [fits.PrimaryHDU(), events.to_table_hdu(), gti.to_table_hdu()]
        names = {"aeff": "AEFF", "edisp": "EDISP", "psf": "PSF", "bkg": "BKG"}
        for kind, name in names.items():
            hdus.append(irfs[kind].to_table_hdu(name=name))
        filename = f"obs_{obs_id:06d}.fits.gz"
        fits.HDUList(hdus).writeto(folder / "data" / filename, overwrite=True)
        classes = {
            "events": "events",
            "gti": "gti",
            "aeff": "aeff_2d",
            "edisp": "edisp_2d",
            "psf": "psf_table",
            "bkg": "bkg_3d",
        }
        hdu_names = {"events": "EVENTS", "gti": "GTI", **names}
        for hdu_type, hdu_class in classes.items():
            hdu_rows.append((obs_id, hdu_type, hdu_class, "data", filename, hdu_names[hdu_type]))
        obs_rows.append(
            (obs_id, pointing.ra.deg, pointing.dec.deg, 30.0 + obs_id, tstart, tstart + duration)
        )
    hdu_table = Table(
        rows=hdu_rows,
        names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"],
    )
    hdu_table.meta = {
        "EXTNAME": "HDU_INDEX",
        "HDUCLASS": "GADF",
        "HDUCLAS1": "INDEX",
        "HDUCLAS2": "HDU",
    }
    hdu_table.write(folder / "hdu-index.fits.gz", overwrite=True)
    obs_table = Table(
        rows=obs_rows, names=["OBS_ID", "RA_PNT", "DEC_PNT", "ZEN_PNT", "TSTART", "TSTOP"]
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
        "TIMEUNIT": "s",
    }
    obs_table.write(folder / "obs-index.fits.gz", overwrite=True)
    return folder


@pytest.fixture(scope="module")
def synthetic_store_dir(tmp_path_factory) -> Path:
    return write_synthetic_store(tmp_path_factory.mktemp("dl3"))


@pytest.fixture(scope="session")
def make_store():
    """The synthetic-store writer (``make_store(folder, **options) -> folder``)."""
    return write_synthetic_store


@pytest.fixture(scope="session")
def seed_intervals():
    return seed_time_intervals()
