"""Shared file checks (`fluxfit._files`): the NAXIS / data-size guard of every FITS reader, and
what writers do with existing files and missing folders.

Each reader gets a valid file whose header is then given ``NAXIS2 = 10**12`` (terabytes of
declared data in a file of kilobytes): the read must end in a `FormatError` naming the file and
the HDU, in well under 2 s, before astropy tries to allocate the data.
"""

from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.errors import FormatError, MissingFileError, OverwriteError

HUGE = 10**12
HESS = "gammapy-data/joint-crab/spectra/hess"
DL3 = "gammapy-data/hess-dl3-dr1"
RUN = f"{DL3}/data/hess_dl3_dr1_obs_id_023523.fits.gz"


def set_card(raw: bytes, key: str, value: int, occurrence: int = 0) -> bytes:
    """Replace the ``occurrence``-th header card ``key`` (on a card boundary) by ``value``."""
    target = f"{key:<8}= ".encode()
    start, seen = 0, -1
    while True:
        index = raw.find(target, start)
        assert index >= 0, f"card {key} #{occurrence} not found"
        if index % 80 == 0:
            seen += 1
            if seen == occurrence:
                break
        start = index + 1
    card = f"{key:<8}= {value:>20d}".ljust(80).encode()
    return raw[:index] + card + raw[index + 80 :]


def damaged(source: Path, folder: Path, key="NAXIS2", value=HUGE, occurrence=0) -> Path:
    """A copy of ``source`` (gzipped again if it was) with one header card changed."""
    raw = source.read_bytes()
    gz = raw[:2] == b"\x1f\x8b"
    if gz:
        raw = gzip.decompress(raw)
    raw = set_card(raw, key, value, occurrence)
    out = folder / source.name
    out.write_bytes(gzip.compress(raw) if gz else raw)
    return out


def refused_quickly(call, *args, **kwargs) -> str:
    start = time.perf_counter()
    with pytest.raises(FormatError) as info:
        call(*args, **kwargs)
    assert time.perf_counter() - start < 2.0
    return str(info.value)


# ------------------------------------------------------------------------ the helper
def _small_table_file(path: Path) -> Path:
    table = fits.BinTableHDU.from_columns([fits.Column("A", "D", array=np.arange(10.0))])
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path)
    return path


def test_valid_files_pass(tmp_path):
    path = _small_table_file(tmp_path / "t.fits")
    check_fits_sizes(path)
    check_fits_sizes(path.read_bytes())
    gz = tmp_path / "t.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    check_fits_sizes(gz)
    # without the final padding (some writers omit it): still possible
    raw = path.read_bytes()
    (tmp_path / "short.fits").write_bytes(raw[: 2 * 2880 + 80])
    check_fits_sizes(tmp_path / "short.fits")
    # not FITS at all: left to the reader
    (tmp_path / "x.ecsv").write_text("# %ECSV 1.0\nEND\n")
    check_fits_sizes(tmp_path / "x.ecsv")


def test_huge_naxis2_plain_gzip_and_bytes(tmp_path):
    path = damaged(_small_table_file(tmp_path / "t0.fits"), tmp_path)
    message = refused_quickly(check_fits_sizes, path)
    assert str(path) in message and "HDU 1" in message and "NAXIS2 = 1000000000000" in message
    refused_quickly(check_fits_sizes, path.read_bytes(), label="memory")
    gz = tmp_path / "t.fits.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert "gzip" in refused_quickly(check_fits_sizes, gz)


def test_naxis_out_of_range(tmp_path):
    path = damaged(_small_table_file(tmp_path / "t.fits"), tmp_path, "NAXIS", 10**9, 1)
    assert "FITS allows 0 to 999" in refused_quickly(check_fits_sizes, path)


def test_truncated_data_refused(tmp_path):
    path = _small_table_file(tmp_path / "t.fits")
    raw = path.read_bytes()
    path.write_bytes(raw[: 2 * 2880 + 40])  # 80 bytes of data declared, 40 present
    assert "truncated" in refused_quickly(check_fits_sizes, path)


# ---------------------------------------------------------------- every FITS reader
def test_ogip_readers(data_dir, tmp_path):
    from fluxfit.datasets.ogip import read_arf, read_ogip, read_pha, read_rmf

    folder = data_dir / HESS
    refused_quickly(read_pha, damaged(folder / "pha_obs23523.fits", tmp_path))
    refused_quickly(read_arf, damaged(folder / "arf_obs23523.fits", tmp_path))
    refused_quickly(read_rmf, damaged(folder / "rmf_obs23523.fits", tmp_path))
    refused_quickly(read_rmf, damaged(folder / "rmf_obs23526.fits", tmp_path, occurrence=1))
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    for name in ("pha", "arf", "rmf", "bkg"):
        shutil.copy(folder / f"{name}_obs23559.fits", bundle)
    damaged(folder / "bkg_obs23559.fits", bundle)
    refused_quickly(read_ogip, bundle / "pha_obs23559.fits")
    steady = data_dir / "gammapy-data/PKS2155-steady/pks2155-304_steady.fits.gz"
    refused_quickly(read_pha, damaged(steady, tmp_path))


def test_dl3_readers(data_dir, tmp_path):
    from fluxfit.data import GTI, EventList, HDUIndexTable, ObservationTable
    from fluxfit.irf.gadf import EffectiveAreaTable2D

    run = damaged(data_dir / RUN, tmp_path)  # EVENTS
    message = refused_quickly(EventList.read, run)
    assert "EVENTS" in message
    run = damaged(data_dir / RUN, tmp_path, occurrence=1)  # GTI
    refused_quickly(GTI.read, run)
    run = damaged(data_dir / RUN, tmp_path, occurrence=2)  # AEFF
    refused_quickly(EffectiveAreaTable2D.read, run, hdu="AEFF")
    refused_quickly(HDUIndexTable.read, damaged(data_dir / DL3 / "hdu-index.fits.gz", tmp_path))
    refused_quickly(ObservationTable.read, damaged(data_dir / DL3 / "obs-index.fits.gz", tmp_path))


def _map_file(path: Path) -> Path:
    from fluxfit.maps import Map

    m = Map.create(npix=(8, 6), binsz=0.1, skydir=(83.6, 22.0), frame="icrs")
    m.data += 1.0
    m.write(path)
    return path


def test_map_readers(tmp_path):
    from fluxfit.maps import Map, read_map_hdus

    path = damaged(_map_file(tmp_path / "m0.fits"), tmp_path)
    refused_quickly(Map.read, path)
    refused_quickly(read_map_hdus, path)


def test_spatial_template_reader(tmp_path):
    from fluxfit.models import TemplateSpatialModel

    path = damaged(_map_file(tmp_path / "m0.fits"), tmp_path)
    refused_quickly(TemplateSpatialModel.read, path)


def test_light_curve_template_reader(tmp_path):
    from astropy.table import Table

    from fluxfit.models import LightCurveTemplateTemporalModel

    table = Table({"TIME": [55000.0, 55001.0, 55002.0], "NORM": [1.0, 2.0, 1.0]})
    table.meta.update({"MJDREFI": 0, "MJDREFF": 0.0, "TIMESYS": "TT", "TIMEUNIT": "d"})
    table.write(tmp_path / "lc0.fits")
    assert LightCurveTemplateTemporalModel.read(tmp_path / "lc0.fits") is not None
    refused_quickly(LightCurveTemplateTemporalModel.read, damaged(tmp_path / "lc0.fits", tmp_path))


def test_flux_points_readers(data_dir, tmp_path):
    from fluxfit.datasets import FluxPoints, FluxPointsDataset

    source = data_dir / "gammapy-data/hawc/crab_flux/HAWC19_flux_points.fits"
    path = damaged(source, tmp_path)
    refused_quickly(FluxPoints.read, path)
    refused_quickly(FluxPointsDataset.read, path)


def test_results_reader(tmp_path):
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel
    from fluxfit.results import AnalysisResults

    models = Models([SkyModel(PowerLawSpectralModel(), name="a")])
    results = AnalysisResults(models, models.parameters.free_parameters.names, "MLE")
    results.write(tmp_path / "r0.fits")
    path = damaged(tmp_path / "r0.fits", tmp_path, occurrence=1)  # PARAMETERS
    refused_quickly(AnalysisResults.read, path)


def test_info_command(tmp_path):
    from fluxfit.cli.info import describe

    path = damaged(_small_table_file(tmp_path / "t0.fits"), tmp_path)
    refused_quickly(describe, path)


# ---------------------------------------------------------------------------- writers
def test_check_output(tmp_path):
    target = tmp_path / "out.fits"
    assert check_output(target) == target
    target.write_text("x")
    with pytest.raises(OverwriteError, match=r"out\.fits"):
        check_output(target)
    assert check_output(target, overwrite=True) == target
    with pytest.raises(MissingFileError, match="does not exist"):
        check_output(tmp_path / "nowhere" / "out.fits", overwrite=True)
    with pytest.raises(MissingFileError, match="is not a folder"):
        check_output(target / "out.fits")


def test_writers_into_missing_folder(tmp_path):
    from fluxfit.maps import Map
    from fluxfit.models import Models, PowerLawSpectralModel, SkyModel
    from fluxfit.results import AnalysisResults

    missing = tmp_path / "no" / "such"
    models = Models([SkyModel(PowerLawSpectralModel(), name="a")])
    with pytest.raises(MissingFileError, match=r"no/such"):
        models.write(missing / "models.yaml")
    with pytest.raises(MissingFileError, match=r"no/such"):
        models.write_covariance(missing / "cov.dat")
    results = AnalysisResults(models, models.parameters.free_parameters.names, "MLE")
    with pytest.raises(MissingFileError, match=r"no/such"):
        results.write(missing / "r.fits")
    with pytest.raises(MissingFileError, match=r"no/such"):
        Map.create(npix=(4, 4), binsz=0.1).write(missing / "m.fits")
    assert not (tmp_path / "no").exists()
