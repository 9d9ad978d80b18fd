"""File paths read from a GADF HDU index (FILE_DIR / FILE_NAME, header BASE_DIR) do not lead
outside the folder the user gave without saying so: a row leading outside raises
`PathSafetyError` unless ``allow_outside=True``; a BASE_DIR outside is followed with a
warning naming both folders. Uses the H.E.S.S. DL3 DR1 index, copied and edited."""

from __future__ import annotations

import shutil

import pytest
from astropy.io import fits

from fluxfit.data import DataStore
from fluxfit.errors import PathSafetyError

pytestmark = pytest.mark.data

HESS = "gammapy-data/hess-dl3-dr1"


@pytest.fixture
def store_copy(data_dir, tmp_path):
    """Only the index files in a new folder; the data stay in the real store."""
    real = data_dir / HESS
    folder = tmp_path / "store"
    folder.mkdir()
    for name in ("hdu-index.fits.gz", "obs-index.fits.gz"):
        shutil.copy(real / name, folder / name)
    return real, folder


def _edit_index(path, file_dir=None, base_dir=None):
    with fits.open(path) as hdul:
        hdu = hdul[1].copy()
    if file_dir is not None:
        columns = [
            fits.Column("FILE_DIR", f"{len(file_dir)}A", array=[file_dir] * len(hdu.data))
            if c.name == "FILE_DIR"
            else fits.Column(c.name, c.format, unit=c.unit, array=hdu.data[c.name])
            for c in hdu.columns
        ]
        hdu = fits.BinTableHDU.from_columns(columns, header=hdu.header)
    if base_dir is not None:
        hdu.header["BASE_DIR"] = base_dir
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def test_file_dir_outside_the_store_is_refused(store_copy):
    real, folder = store_copy
    _edit_index(folder / "hdu-index.fits.gz", file_dir=str((real / "data").resolve()))
    store = DataStore.from_dir(folder)
    obs_id = int(store.obs_table["OBS_ID"][0])
    with pytest.raises(PathSafetyError, match=r"FILE_DIR = .*outside the base directory"):
        store.obs(obs_id).events  # noqa: B018
    allowed = DataStore.from_dir(folder, allow_outside=True)
    assert len(allowed.obs(obs_id).events.table) > 0


def test_relative_escape_is_refused(store_copy):
    _, folder = store_copy
    _edit_index(folder / "hdu-index.fits.gz", file_dir="../../../../etc")
    store = DataStore.from_dir(folder)
    obs_id = int(store.obs_table["OBS_ID"][0])
    with pytest.raises(PathSafetyError, match=r"'\.\./\.\./\.\./\.\./etc'"):
        store.obs(obs_id).events  # noqa: B018


def test_base_dir_outside_is_followed_with_a_warning(store_copy):
    real, folder = store_copy
    _edit_index(folder / "hdu-index.fits.gz", base_dir=str(real.resolve()))
    with pytest.warns(UserWarning, match=r"BASE_DIR = .* outside the folder"):
        store = DataStore.from_dir(folder)
    obs_id = int(store.obs_table["OBS_ID"][0])
    assert len(store.obs(obs_id).events.table) > 0
