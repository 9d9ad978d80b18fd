"""Fixtures for fluxfit.makers: seed 003's H.E.S.S. pieces reduced once per session."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from regions import CircleSkyRegion

from fluxfit.maps import MapAxis, RegionGeom

HERE = Path(__file__).parent
HESS = "gammapy-data/hess-dl3-dr1"

#: Seed 003: Gammapy's time-resolved spectroscopy tutorial on PKS 2155-304.
PKS2155 = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")
ON_REGION = CircleSkyRegion(center=PKS2155, radius=Angle("0.11 deg"))
ENERGY_AXIS = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
ENERGY_AXIS_TRUE = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")


def seed_time_intervals():
    times = Time("2006-07-29T20:30") + np.arange(25) * 15 * u.min
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


@pytest.fixture(scope="session")
def hess_store_makers(data_dir):
    from fluxfit.data import DataStore

    path = data_dir / HESS
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return DataStore.from_dir(path)


@pytest.fixture(scope="session")
def seed_observations_makers(hess_store_makers):
    selection = dict(
        type="sky_circle", frame="icrs", lon=PKS2155.ra, lat=PKS2155.dec, radius=2 * u.deg
    )
    obs_ids = hess_store_makers.obs_table.select_observations(selection)["OBS_ID"]
    return hess_store_makers.get_observations(obs_ids)


@pytest.fixture(scope="session")
def seed_pieces_makers(seed_observations_makers):
    return seed_observations_makers.select_time(seed_time_intervals())


@pytest.fixture(scope="session")
def seed_geom():
    return RegionGeom.create(region=ON_REGION, axes=[ENERGY_AXIS])


@pytest.fixture(scope="session")
def seed_datasets(seed_pieces_makers, seed_geom):
    """The 34 ON/OFF datasets of seed 003 (names ``ds{i:02d}_obs{id}`` as the reference)."""
    from fluxfit.makers import make_spectrum_datasets

    return make_spectrum_datasets(seed_pieces_makers, seed_geom, ENERGY_AXIS_TRUE)


@pytest.fixture(scope="session")
def makers_reference() -> dict:
    """Gammapy 2.1 per-piece arrays (written by bench/refgen/make_gammapy_makers_reference.py)."""
    return json.loads((HERE / "gammapy_makers_reference.json").read_text())


@pytest.fixture(scope="session")
def wf3_reference_makers(reference_dir) -> dict:
    path = reference_dir / "gammapy" / "wf3_time_resolved.json"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return json.loads(path.read_text())
