"""Fuzz the OGIP readers: PHA I and II, background PHA, ARF, RMF/RSP/RSP2 and `read_ogip`.

Valid synthetic files (written with astropy and fluxfit's writers) are damaged by
`_fuzzlib.mutate_fits` / `mutate_bytes`; every case must read or raise a fluxfit error.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import attempt, hdul_bytes, mutate_bytes, mutate_fits, write_case
from astropy.io import fits
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.datasets.ogip import (
    ARF,
    RMF,
    EnergyBounds,
    GoodTimeIntervals,
    PHASpectrum,
    read_arf,
    read_ogip,
    read_pha,
    read_rmf,
    write_arf,
    write_background,
    write_pha,
    write_rmf,
)
from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix

N_CHAN = 8
N_TRUE = 10
E_CHAN = np.geomspace(10.0, 1000.0, N_CHAN + 1)
E_TRUE = np.geomspace(5.0, 2000.0, N_TRUE + 1)

PHA_KEYWORDS = (
    "EXPOSURE",
    "POISSERR",
    "DETCHANS",
    "BACKSCAL",
    "AREASCAL",
    "TLMIN1",
    "TLMIN2",
    "GROUPING",
    "QUALITY",
    "HDUCLAS1",
    "HDUCLAS2",
    "HDUCLAS4",
    "BACKFILE",
    "RESPFILE",
    "ANCRFILE",
    "CORRFILE",
    "STAT_ERR",
    "SYS_ERR",
    "CHANTYPE",
)
RMF_KEYWORDS = (
    "DETCHANS",
    "TLMIN4",
    "TLMIN1",
    "HDUCLAS3",
    "EXTVER",
    "NUMGRP",
    "NUMELT",
    "EXTNAME",
    "TDIM6",
)
ARF_KEYWORDS = ("HDUCLAS1", "HDUCLAS2", "TUNIT1", "TUNIT3", "EXTNAME")


def _quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _file_bytes(writer, obj, name) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        writer(obj, path)
        return path.read_bytes()


def _edisp(scale=1.0):
    matrix = np.zeros((N_TRUE, N_CHAN))
    for row in range(N_TRUE):
        centre = min(row * N_CHAN // N_TRUE, N_CHAN - 1)
        matrix[row, max(0, centre - 1) : centre + 2] = 1.0
        if row % 3 == 0:
            matrix[row, N_CHAN - 1] = 0.5
    matrix /= matrix.sum(axis=1, keepdims=True)
    return EnergyDispersionMatrix(E_TRUE * u.keV, E_CHAN * u.keV, matrix * scale)


@functools.cache
def base_files() -> dict[str, bytes]:
    """Valid files: name -> bytes."""
    rng = np.random.default_rng(1)
    counts = rng.poisson(20, N_CHAN).astype(float)
    ebounds = EnergyBounds.from_edges(E_CHAN * u.keV, first_channel=1)
    gti = GoodTimeIntervals([0.0, 100.0], [50.0, 200.0])
    spectrum = PHASpectrum(
        channels=np.arange(1, N_CHAN + 1),
        counts=counts,
        exposure=150.0,
        backscal=1.0,
        grouping=np.array([1, -1, 1, -1, 1, 1, -1, 1]),
        ebounds=ebounds,
        gti=gti,
        filenames={"BACKFILE": "src_bkg.pha", "RESPFILE": "src.rmf", "ANCRFILE": "src.arf"},
    )
    offset = PHASpectrum(
        channels=np.arange(0, N_CHAN),
        counts=counts,
        exposure=10.0,
        backscal=np.full(N_CHAN, 0.5),
        quality=np.array([0, 0, 0, 1, 0, 0, 0, 5]),
        sys_err=np.full(N_CHAN, 0.01),
        ebounds=EnergyBounds.from_edges(E_CHAN * u.keV, first_channel=0),
    )
    background = PHASpectrum(
        channels=np.arange(1, N_CHAN + 1),
        counts=rng.poisson(40, N_CHAN).astype(float),
        exposure=150.0,
        backscal=5.0,
    )
    files = {
        "pha1": _file_bytes(write_pha, spectrum, "src.pha"),
        "pha1_offset": _file_bytes(write_pha, offset, "offset.pha"),
        "bkg": _file_bytes(write_background, background, "src_bkg.pha"),
        "arf": _file_bytes(
            write_arf,
            ARF(EffectiveArea(E_TRUE * u.keV, np.linspace(10, 100, N_TRUE) * u.cm**2)),
            "x.arf",
        ),
        "rmf": _file_bytes(write_rmf, RMF.from_edisp(_edisp()), "x.rmf"),
        "rmf_fixed": _file_bytes(
            lambda obj, path: write_rmf(obj, path, variable_length=False),
            RMF.from_edisp(_edisp(), first_channel=0),
            "y.rmf",
        ),
    }
    files["rate_bkg"] = hdul_bytes(_rate_background())
    files["pha2"] = hdul_bytes(_pha2())
    files["rsp2"] = hdul_bytes(_rsp2(files["rmf_fixed"]))
    return files


def _rate_background() -> fits.HDUList:
    columns = [
        fits.Column("CHANNEL", "I", array=np.arange(1, N_CHAN + 1)),
        fits.Column("RATE", "E", unit="count/s", array=np.linspace(2.0, 0.1, N_CHAN)),
        fits.Column("STAT_ERR", "E", unit="count/s", array=np.full(N_CHAN, 0.05)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    for key, value in {
        "HDUCLASS": "OGIP",
        "HDUCLAS1": "SPECTRUM",
        "HDUCLAS2": "BKG",
        "HDUCLAS3": "RATE",
        "POISSERR": False,
        "EXPOSURE": 16.0,
        "BACKSCAL": 1.0,
        "TLMIN1": 1,
    }.items():
        hdu.header[key] = value
    return fits.HDUList([fits.PrimaryHDU(), hdu])


def _pha2() -> fits.HDUList:
    rows = 3
    counts = np.arange(rows * N_CHAN).reshape(rows, N_CHAN) % 7
    columns = [
        fits.Column("SPEC_NUM", "I", array=np.arange(1, rows + 1)),
        fits.Column("TSTART", "D", unit="s", array=[10.0, 20.0, 30.0]),
        fits.Column("CHANNEL", f"{N_CHAN}I", array=np.tile(np.arange(1, N_CHAN + 1), (rows, 1))),
        fits.Column("COUNTS", f"{N_CHAN}J", unit="count", array=counts),
        fits.Column("QUALITY", f"{N_CHAN}I", array=np.zeros((rows, N_CHAN))),
        fits.Column("EXPOSURE", "E", unit="s", array=[1.0, 2.0, 4.0]),
        fits.Column("BACKSCAL", "E", array=[1.0, 0.5, 0.25]),
        fits.Column("RESPFILE", "20A", array=["x.rsp2{1}", "x.rsp2{2}", "x.rsp2{2}"]),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    for key, value in {
        "HDUCLASS": "OGIP",
        "HDUCLAS1": "SPECTRUM",
        "HDUCLAS2": "TOTAL",
        "HDUCLAS3": "COUNT",
        "HDUCLAS4": "TYPE:II",
        "POISSERR": True,
        "BACKFILE": "NONE",
        "AREASCAL": 1.0,
    }.items():
        hdu.header[key] = value
    ebounds = fits.BinTableHDU.from_columns(
        [
            fits.Column("CHANNEL", "I", array=np.arange(1, N_CHAN + 1)),
            fits.Column("E_MIN", "E", unit="keV", array=E_CHAN[:-1]),
            fits.Column("E_MAX", "E", unit="keV", array=E_CHAN[1:]),
        ],
        name="EBOUNDS",
    )
    return fits.HDUList([fits.PrimaryHDU(), hdu, ebounds])


def _rsp2(rmf_bytes: bytes) -> fits.HDUList:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import io

        single = fits.open(io.BytesIO(rmf_bytes), memmap=False)
        matrix = single["MATRIX"].copy()
        ebounds = single["EBOUNDS"].copy()
    hdus = [fits.PrimaryHDU(), ebounds]
    for extver, factor in ((1, 100.0), (2, 250.0)):
        hdu = matrix.copy()
        hdu.name = "SPECRESP MATRIX"
        hdu.data["MATRIX"] = hdu.data["MATRIX"] * factor
        hdu.header["EXTVER"] = extver
        hdu.header["HDUCLAS3"] = "FULL"
        hdus.append(hdu)
    return fits.HDUList(hdus)


def _case_folder():
    return tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-")


def _spectrum_rows(path: Path) -> int | None:
    """Rows of the SPECTRUM table as astropy sees it (None if unreadable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False) as hdul:
                for hdu in hdul[1:]:
                    if hdu.name == "SPECTRUM":
                        return len(hdu.data)
    except Exception:  # only used for a sanity check of successful reads
        return None
    return None


# ------------------------------------------------------------------------------------ PHA
@given(data=st.data())
def test_fuzz_pha_type1(data):
    name = data.draw(st.sampled_from(["pha1", "pha1_offset"]), label="base")
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], PHA_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.pha", raw)
        number = data.draw(st.sampled_from([None, None, None, 1, 2, 0]), label="spectrum_number")
        spectrum, _ = attempt(
            "PHA type I", lambda: _quietly(read_pha, path, spectrum_number=number), [path.name]
        )
        if spectrum is not None:
            assert spectrum.counts.shape == spectrum.channels.shape == spectrum.quality.shape
            rows = _spectrum_rows(path)
            if rows is not None and spectrum.spectrum_number is None:
                assert spectrum.n_channels == rows, "channels silently dropped or added"


@given(data=st.data())
def test_fuzz_pha_type2(data):
    raw = mutate_bytes(data, mutate_fits(data, base_files()["pha2"], PHA_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.pha2", raw)
        number = data.draw(st.sampled_from([1, 2, 3, None, 4, 0, -1]), label="spectrum_number")
        spectrum, _ = attempt(
            "PHA type II", lambda: _quietly(read_pha, path, spectrum_number=number), [path.name]
        )
        if spectrum is not None:
            assert spectrum.counts.shape == spectrum.channels.shape
            assert np.ndim(spectrum.exposure) == 0


@given(data=st.data())
def test_fuzz_background_pha(data):
    name = data.draw(st.sampled_from(["bkg", "rate_bkg"]), label="base")
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], PHA_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case_bkg.pha", raw)
        spectrum, _ = attempt("background PHA", lambda: _quietly(read_pha, path), [path.name])
        if spectrum is not None:
            assert spectrum.counts.shape == spectrum.channels.shape
            rows = _spectrum_rows(path)
            if rows is not None:
                assert spectrum.n_channels == rows


# ------------------------------------------------------------------------------------ ARF
@given(data=st.data())
def test_fuzz_arf(data):
    raw = mutate_bytes(data, mutate_fits(data, base_files()["arf"], ARF_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.arf", raw)
        arf, _ = attempt("ARF", lambda: _quietly(read_arf, path), [path.name])
        if arf is not None:
            area = arf.effective_area
            assert area.area.shape == (area.energy_true_edges.size - 1,)


# ------------------------------------------------------------------------------------ RMF
@given(data=st.data())
def test_fuzz_rmf(data):
    name = data.draw(st.sampled_from(["rmf", "rmf_fixed"]), label="base")
    raw = mutate_bytes(data, mutate_fits(data, base_files()[name], RMF_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.rmf", raw)
        storage = data.draw(st.sampled_from(["auto", "dense", "sparse"]), label="storage")
        rmf, _ = attempt("RMF", lambda: _quietly(read_rmf, path, storage=storage), [path.name])
        if rmf is not None:
            dense = rmf.edisp.to_dense()
            assert dense.shape == (rmf.edisp.n_true, rmf.edisp.n_channels)
            assert rmf.ebounds.n_channels == rmf.edisp.n_channels


@given(data=st.data())
def test_fuzz_rsp2(data):
    raw = mutate_bytes(data, mutate_fits(data, base_files()["rsp2"], RMF_KEYWORDS))
    with _case_folder() as folder:
        path = write_case(folder, "case.rsp2", raw)
        index = data.draw(st.sampled_from([None, 1, 2, 3, 0]), label="matrix_index")
        suffix = data.draw(st.sampled_from(["", "{1}", "{2}", "{9}", "{-1}", "{x}"]), label="{N}")
        target = f"{path}{suffix}"
        rmf, _ = attempt(
            "RSP / RSP2", lambda: _quietly(read_rmf, target, matrix_index=index), [path.name]
        )
        if rmf is not None:
            assert rmf.edisp.to_dense().shape == (rmf.edisp.n_true, rmf.edisp.n_channels)


# ------------------------------------------------------------------------------------ bundle
REFERENCE_VALUES = (
    "src_bkg.pha",
    "src.rmf",
    "src.arf",
    "NONE",
    "",
    "../outside.pha",
    "sub/../src.rmf",
    "/etc/hostname",
    "missing.pha",
    "src.rmf{1}",
    "src.rmf{2}",
    "src_bkg.pha{0}",
    "link_out.pha",
)


@given(data=st.data())
def test_fuzz_read_ogip_bundle(data):
    """PHA + background + RMF + ARF linked by keywords: one file damaged, keywords rewritten."""
    files = base_files()
    parts = {
        "src.pha": files["pha1"],
        "src_bkg.pha": files["bkg"],
        "src.rmf": files["rmf"],
        "src.arf": files["arf"],
    }
    damaged = data.draw(st.sampled_from(sorted(parts)), label="damaged file")
    keywords = PHA_KEYWORDS if damaged.endswith(".pha") else RMF_KEYWORDS + ARF_KEYWORDS
    parts[damaged] = mutate_bytes(data, mutate_fits(data, parts[damaged], keywords))
    rewrite = data.draw(
        st.dictionaries(
            st.sampled_from(["BACKFILE", "RESPFILE", "ANCRFILE"]),
            st.sampled_from(REFERENCE_VALUES),
            max_size=2,
        ),
        label="keywords",
    )
    allow_outside = data.draw(st.booleans(), label="allow_outside")
    with _case_folder() as root:
        folder = Path(root) / "spectra"
        for name, raw in parts.items():
            write_case(folder, name, raw)
        write_case(root, "outside.pha", files["bkg"])
        (folder / "link_out.pha").symlink_to(Path(root) / "outside.pha")
        if rewrite:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    with fits.open(folder / "src.pha", mode="update") as hdul:
                        for key, value in rewrite.items():
                            hdul["SPECTRUM"].header[key] = value
            except Exception:  # the PHA file is damaged beyond astropy's update mode
                pass
        bundle, _ = attempt(
            "OGIP bundle (read_ogip)",
            lambda: _quietly(read_ogip, folder / "src.pha", allow_outside=allow_outside),
            list(parts) + ["outside.pha", "link_out.pha", "missing.pha", "hostname"],
        )
        if bundle is not None and not allow_outside:
            for part in (bundle.background, bundle.rmf, bundle.arf):
                if part is not None:
                    assert Path(part.path).resolve().is_relative_to(folder.resolve())


# ------------------------------------------------------------------------------------ real files
HESS_SPECTRA = "gammapy-data/joint-crab/spectra/hess"
HESS_FILES = {
    "pha_obs23523.fits": "pha",
    "bkg_obs23523.fits": "bkg",
    "arf_obs23523.fits": "arf",
    "rmf_obs23523.fits": "rmf",
}


@functools.cache
def _real_files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in HESS_FILES}


@given(data=st.data())
def test_fuzz_real_hess_ogip(data, data_dir):
    """The H.E.S.S. joint-Crab OGIP files (pha, bkg, arf, rmf of run 23523), one damaged."""
    folder = data_dir / HESS_SPECTRA
    if not folder.is_dir():
        import pytest

        pytest.skip(f"{folder} not found")
    parts = dict(_real_files(folder))
    damaged = data.draw(st.sampled_from(sorted(parts)), label="damaged file")
    keywords = PHA_KEYWORDS if HESS_FILES[damaged] in ("pha", "bkg") else RMF_KEYWORDS
    parts[damaged] = mutate_bytes(data, mutate_fits(data, parts[damaged], keywords))
    with _case_folder() as root:
        for name, raw in parts.items():
            write_case(root, name, raw)
        bundle, _ = attempt(
            "OGIP bundle, real H.E.S.S. files",
            lambda: _quietly(read_ogip, Path(root) / "pha_obs23523.fits"),
            list(parts),
        )
        if bundle is not None:
            assert bundle.response.to_dense().shape[1] == bundle.spectrum.n_channels
