"""OGIP readers and writers on synthetic files written with astropy in tmp_path.

GBM-like products: a PHA-II file with several spectra, a Gaussian background
(RATE + STAT_ERR, POISSERR = F) and an RSP2 file holding two matrices selected
with 'file{N}'; TLMIN offsets; variable- and fixed-length matrix columns;
malformed files; paths escaping the PHA file's folder; writer round trips.
"""

import os
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from fluxfit.datasets.ogip import (
    ARF,
    RMF,
    EnergyBounds,
    GoodTimeIntervals,
    PHASpectrum,
    count_response_matrices,
    ogip_filenames,
    read_arf,
    read_ogip,
    read_pha,
    read_rmf,
    resolve_reference,
    split_extended_name,
    write_arf,
    write_background,
    write_ogip,
    write_pha,
    write_rmf,
)
from fluxfit.errors import FormatError, MissingFileError, OverwriteError, PathSafetyError
from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix

N_CHAN = 8
N_TRUE = 12
EBOUNDS_KEV = np.geomspace(8.0, 1000.0, N_CHAN + 1).astype(np.float32)
ENERGY_TRUE_KEV = np.geomspace(5.0, 2000.0, N_TRUE + 1).astype(np.float32)
COUNTS = np.array(
    [[5, 9, 12, 7, 3, 2, 1, 0], [50, 90, 120, 70, 30, 20, 10, 4], [1, 0, 2, 0, 3, 0, 4, 0]]
)
EXPOSURES = np.array([1.024, 2.048, 4.096], dtype=np.float32)


def response_matrix(scale):
    """A band matrix in cm2 with two groups in some rows (a gap at channel 4)."""
    matrix = np.zeros((N_TRUE, N_CHAN), dtype=np.float32)
    for row in range(N_TRUE):
        centre = row * N_CHAN // N_TRUE
        matrix[row, max(0, centre - 1) : centre + 2] = scale * (1 + row)
        if row % 3 == 0:
            matrix[row, 4] = 0.0  # splits the row into two groups when the band spans it
            matrix[row, N_CHAN - 1] = 0.5 * scale
    return matrix


MATRIX_1, MATRIX_2 = response_matrix(10.0), response_matrix(25.0)


def groups_of(row):
    """(first channel index, values) of each run of non-zero values in ``row``."""
    nonzero = np.flatnonzero(row)
    runs = np.split(nonzero, np.flatnonzero(np.diff(nonzero) != 1) + 1) if nonzero.size else []
    return [(int(run[0]), row[run]) for run in runs]


def object_column(rows, dtype):
    column = np.empty(len(rows), dtype=object)
    for index, row in enumerate(rows):
        column[index] = np.asarray(row, dtype=dtype)
    return column


def matrix_hdu(
    matrix,
    first_channel=1,
    variable_length=True,
    extname="SPECRESP MATRIX",
    extver=None,
    drop=None,
    tlmin=True,
):
    """A MATRIX table built row by row (independently of fluxfit's packer)."""
    groups = [groups_of(row) for row in matrix]
    n_grp = np.array([len(row) for row in groups], dtype=np.int16)
    f_chan = [[first + first_channel for first, _ in row] for row in groups]
    n_chan = [[len(values) for _, values in row] for row in groups]
    values = [np.concatenate([v for _, v in row]) if row else [] for row in groups]
    if variable_length:
        group_columns = [
            fits.Column("F_CHAN", "PI()", array=object_column(f_chan, np.int16)),
            fits.Column("N_CHAN", "PI()", array=object_column(n_chan, np.int16)),
            fits.Column("MATRIX", "PE()", array=object_column(values, np.float32)),
        ]
    else:
        width = max(1, n_grp.max())
        longest = max(len(v) for v in values)
        padded_f = np.full((len(groups), width), 99, dtype=np.int16)  # padding is ignored
        padded_n = np.zeros((len(groups), width), dtype=np.int16)
        padded_m = np.full((len(groups), longest), -7.0, dtype=np.float32)  # ignored too
        for index, row in enumerate(groups):
            padded_f[index, : len(row)] = f_chan[index]
            padded_n[index, : len(row)] = n_chan[index]
            padded_m[index, : len(values[index])] = values[index]
        group_columns = [
            fits.Column("F_CHAN", f"{width}I", array=padded_f),
            fits.Column("N_CHAN", f"{width}I", array=padded_n),
            fits.Column("MATRIX", f"{longest}E", array=padded_m),
        ]
    columns = [
        fits.Column("ENERG_LO", "E", unit="keV", array=ENERGY_TRUE_KEV[:-1]),
        fits.Column("ENERG_HI", "E", unit="keV", array=ENERGY_TRUE_KEV[1:]),
        fits.Column("N_GRP", "I", array=n_grp),
        *group_columns,
    ]
    columns = [column for column in columns if column.name != drop]
    hdu = fits.BinTableHDU.from_columns(columns, name=extname)
    hdu.header["DETCHANS"] = matrix.shape[1]
    hdu.header["HDUCLASS"] = "OGIP"
    hdu.header["HDUCLAS1"] = "RESPONSE"
    hdu.header["HDUCLAS2"] = "RSP_MATRIX"
    if tlmin and drop is None:
        hdu.header["TLMIN4"] = first_channel
    if extver is not None:
        hdu.header["EXTVER"] = extver
    return hdu


def ebounds_hdu(first_channel=1, energies=EBOUNDS_KEV):
    columns = [
        fits.Column("CHANNEL", "I", array=np.arange(energies.size - 1) + first_channel),
        fits.Column("E_MIN", "E", unit="keV", array=energies[:-1]),
        fits.Column("E_MAX", "E", unit="keV", array=energies[1:]),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="EBOUNDS")
    hdu.header["TLMIN1"] = first_channel
    return hdu


def write_rsp2(path, extvers=(1, 2), extname="SPECRESP MATRIX", variable=(True, False)):
    primary = fits.PrimaryHDU()
    primary.header["DRM_NUM"] = 2
    hdus = [primary, ebounds_hdu()]
    for matrix, extver, variable_length in zip((MATRIX_1, MATRIX_2), extvers, variable):
        hdus.append(matrix_hdu(matrix, 1, variable_length, extname=extname, extver=extver))
    fits.HDUList(hdus).writeto(path)
    return path


def write_pha2(path, respfiles=("gbm.rsp2{1}", "gbm.rsp2{2}", "gbm.rsp2{2}"), **keywords):
    """A GBM-like PHA-II file: one spectrum per row, EXPOSURE and RESPFILE as columns."""
    n_rows = len(COUNTS)
    columns = [
        fits.Column("SPEC_NUM", "I", array=np.arange(1, n_rows + 1)),
        fits.Column("TSTART", "D", unit="s", array=[10.0, 20.0, 30.0]),
        fits.Column("TELAPSE", "D", unit="s", array=[1.1, 2.2, 4.4]),
        fits.Column("CHANNEL", f"{N_CHAN}I", array=np.tile(np.arange(1, N_CHAN + 1), (n_rows, 1))),
        fits.Column("COUNTS", f"{N_CHAN}J", unit="count", array=COUNTS),
        fits.Column("QUALITY", f"{N_CHAN}I", array=np.zeros((n_rows, N_CHAN))),
        fits.Column("EXPOSURE", "E", unit="s", array=EXPOSURES),
        fits.Column("BACKSCAL", "E", array=[1.0, 0.5, 0.25]),
        fits.Column("RESPFILE", "20A", array=list(respfiles)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    header = {
        "HDUCLASS": "OGIP",
        "HDUCLAS1": "SPECTRUM",
        "HDUCLAS2": "TOTAL",
        "HDUCLAS3": "COUNT",
        "HDUCLAS4": "TYPE:II",
        "POISSERR": True,
        "TELESCOP": "GLAST",
        "INSTRUME": "GBM",
        "DETNAM": "NAI_00",
        "BACKFILE": "gbm.bak",
        "ANCRFILE": "NONE",
        "AREASCAL": 1.0,
    }
    header.update(keywords)
    for key, value in header.items():
        hdu.header[key] = value
    fits.HDUList([fits.PrimaryHDU(), hdu, ebounds_hdu()]).writeto(path)
    return path


BACKGROUND_RATES = np.array([[2.0, 1.5, 1.25, 1.0, 0.5, 0.25, 0.125, 0.0625]], dtype=np.float32)
BACKGROUND_ERRORS = np.array([[0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]], dtype=np.float32)


def write_gaussian_background(path, rows=1, exposure=16.0):
    """A GBM-like background: RATE and STAT_ERR, POISSERR = F (PHA-I, or PHA-II if rows > 1)."""
    if rows == 1:
        columns = [
            fits.Column("CHANNEL", "I", array=np.arange(1, N_CHAN + 1)),
            fits.Column("RATE", "E", unit="count/s", array=BACKGROUND_RATES[0]),
            fits.Column("STAT_ERR", "E", unit="count/s", array=BACKGROUND_ERRORS[0]),
        ]
    else:
        rates = BACKGROUND_RATES * np.arange(1, rows + 1)[:, None]
        columns = [
            fits.Column(
                "CHANNEL", f"{N_CHAN}I", array=np.tile(np.arange(1, N_CHAN + 1), (rows, 1))
            ),
            fits.Column("RATE", f"{N_CHAN}E", array=rates.astype(np.float32)),
            fits.Column("STAT_ERR", f"{N_CHAN}E", array=np.tile(BACKGROUND_ERRORS, (rows, 1))),
        ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    for key, value in {
        "HDUCLASS": "OGIP",
        "HDUCLAS1": "SPECTRUM",
        "HDUCLAS2": "BKG",
        "HDUCLAS3": "RATE",
        "POISSERR": False,
        "EXPOSURE": exposure,
        "BACKSCAL": 1.0,
        "TLMIN1": 1,
    }.items():
        hdu.header[key] = value
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path


@pytest.fixture
def gbm_folder(tmp_path):
    folder = tmp_path / "gbm"
    folder.mkdir()
    write_pha2(folder / "gbm.pha")
    write_gaussian_background(folder / "gbm.bak")
    write_rsp2(folder / "gbm.rsp2")
    return folder


# --- PHA-II, Gaussian background, RSP2 ------------------------------------------------------
@pytest.mark.parametrize("number, matrix", [(1, MATRIX_1), (2, MATRIX_2), (3, MATRIX_2)])
def test_gbm_like_pha2_rows_and_rsp2_selection(gbm_folder, number, matrix):
    bundle = read_ogip(gbm_folder / "gbm.pha", spectrum_number=number)
    spectrum, background, rmf = bundle.spectrum, bundle.background, bundle.rmf
    np.testing.assert_array_equal(spectrum.counts, COUNTS[number - 1])
    assert spectrum.counts.dtype == np.float64 and spectrum.is_poisson
    assert spectrum.exposure == float(EXPOSURES[number - 1])
    assert spectrum.backscal == [1.0, 0.5, 0.25][number - 1]
    assert spectrum.spectrum_number == number
    assert spectrum.filenames["ANCRFILE"] is None and bundle.arf is None
    assert spectrum.header["TSTART"] == [10.0, 20.0, 30.0][number - 1]  # row scalar -> keyword
    assert spectrum.meta["INSTRUME"] == "GBM" and spectrum.meta["DETNAM"] == "NAI_00"
    np.testing.assert_array_equal(spectrum.channels, np.arange(1, N_CHAN + 1))
    # the RSP2 matrix named in this row's RESPFILE column ('gbm.rsp2{N}')
    assert rmf.matrix_index == (1 if number == 1 else 2)
    np.testing.assert_array_equal(rmf.edisp.to_dense(), matrix.astype(np.float64))
    assert rmf.includes_effective_area and rmf.first_channel == 1
    # Gaussian background: RATE * EXPOSURE and STAT_ERR * EXPOSURE, not Poisson
    assert not background.is_poisson and background.is_background
    np.testing.assert_array_equal(background.counts, BACKGROUND_RATES[0].astype(float) * 16.0)
    np.testing.assert_array_equal(background.stat_err, BACKGROUND_ERRORS[0].astype(float) * 16.0)
    # response: exposure * RSP (no ARF)
    np.testing.assert_allclose(
        bundle.response.to_dense(), spectrum.exposure * matrix.astype(np.float64), rtol=1e-15
    )


def test_pha2_row_from_the_file_name_and_errors(gbm_folder):
    spectrum = read_pha(f"{gbm_folder / 'gbm.pha'}{{3}}")
    assert spectrum.spectrum_number == 3
    np.testing.assert_array_equal(
        read_ogip(f"{gbm_folder / 'gbm.pha'}{{2}}").spectrum.counts, COUNTS[1]
    )
    with pytest.raises(FormatError, match=r"gbm\.pha.*3 spectra: pass spectrum_number"):
        read_pha(gbm_folder / "gbm.pha")
    with pytest.raises(FormatError, match=r"spectrum_number 4 is out of range 1\.\.3"):
        read_pha(gbm_folder / "gbm.pha", spectrum_number=4)
    with pytest.raises(FormatError, match="contradicts"):
        read_pha(f"{gbm_folder / 'gbm.pha'}{{2}}", spectrum_number=3)
    with pytest.raises(FormatError, match="one spectrum"):
        read_pha(gbm_folder / "gbm.bak", spectrum_number=2)


def test_pha2_background_without_index_uses_the_same_row(tmp_path):
    write_pha2(tmp_path / "src.pha", BACKFILE="bkg.pha2")
    write_gaussian_background(tmp_path / "bkg.pha2", rows=3, exposure=8.0)
    write_rsp2(tmp_path / "gbm.rsp2")
    for number in (1, 2, 3):
        background = read_ogip(tmp_path / "src.pha", spectrum_number=number).background
        assert background.spectrum_number == number
        np.testing.assert_array_equal(
            background.counts, BACKGROUND_RATES[0].astype(float) * number * 8.0
        )
    # an explicit '{N}' wins
    bundle = read_ogip(
        tmp_path / "src.pha", spectrum_number=3, background=f"{tmp_path}/bkg.pha2{{1}}"
    )
    assert bundle.background.spectrum_number == 1


def test_gbm_cspec_layout_without_channel_column(tmp_path):
    # GBM CSPEC files have no CHANNEL column: channels start at TLMIN of COUNTS (0 here)
    columns = [
        fits.Column("COUNTS", f"{N_CHAN}I", array=COUNTS),
        fits.Column("EXPOSURE", "E", array=EXPOSURES),
        fits.Column("QUALITY", "I", array=[0, 0, 1]),  # one QUALITY per row: a scalar column
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
    hdu.header["TLMIN1"] = 0
    hdu.header["POISSERR"] = True
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp_path / "cspec.pha")
    spectrum = read_pha(tmp_path / "cspec.pha", spectrum_number=3)
    np.testing.assert_array_equal(spectrum.channels, np.arange(N_CHAN))
    np.testing.assert_array_equal(spectrum.quality, np.ones(N_CHAN))
    assert spectrum.backscal == 1.0 and spectrum.filenames["BACKFILE"] is None


def test_rsp2_matrix_selection(gbm_folder, tmp_path):
    rsp2 = gbm_folder / "gbm.rsp2"
    assert count_response_matrices(rsp2) == 2
    np.testing.assert_array_equal(read_rmf(rsp2).edisp.to_dense(), MATRIX_1)
    np.testing.assert_array_equal(read_rmf(rsp2, matrix_index=2).edisp.to_dense(), MATRIX_2)
    np.testing.assert_array_equal(read_rmf(f"{rsp2}{{2}}").edisp.to_dense(), MATRIX_2)
    with pytest.raises(FormatError, match="EXTVER = 3"):
        read_rmf(rsp2, matrix_index=3)
    # without EXTVER keywords the N-th matrix HDU is taken
    write_rsp2(tmp_path / "plain.rsp2", extvers=(None, None), extname="MATRIX")
    np.testing.assert_array_equal(
        read_rmf(f"{tmp_path}/plain.rsp2{{2}}").edisp.to_dense(), MATRIX_2
    )
    with pytest.raises(FormatError, match=r"out of range 1\.\.2"):
        read_rmf(tmp_path / "plain.rsp2", matrix_index=3)


# --- matrix layouts --------------------------------------------------------------------------
@pytest.mark.parametrize("first_channel", [0, 1, 3])
@pytest.mark.parametrize("variable_length", [True, False])
def test_matrix_layouts_and_tlmin_offsets(tmp_path, first_channel, variable_length):
    hdus = [
        fits.PrimaryHDU(),
        matrix_hdu(MATRIX_1 / 1e3, first_channel, variable_length, extname="MATRIX"),
        ebounds_hdu(first_channel),
    ]
    fits.HDUList(hdus).writeto(tmp_path / "x.rmf")
    rmf = read_rmf(tmp_path / "x.rmf")
    assert rmf.first_channel == first_channel
    np.testing.assert_array_equal(rmf.edisp.to_dense(), (MATRIX_1 / 1e3).astype(np.float64))
    assert not rmf.includes_effective_area  # MATRIX, rows sum to < 1
    assert max(len(groups_of(row)) for row in MATRIX_1) >= 2  # several groups per row
    np.testing.assert_array_equal(rmf.ebounds.channels, np.arange(N_CHAN) + first_channel)


def test_missing_tlmin_falls_back_to_the_ebounds_first_channel(tmp_path):
    hdus = [
        fits.PrimaryHDU(),
        matrix_hdu(MATRIX_1 / 1e3, 0, extname="MATRIX", tlmin=False),
        ebounds_hdu(0),
    ]
    fits.HDUList(hdus).writeto(tmp_path / "x.rmf")
    rmf = read_rmf(tmp_path / "x.rmf")
    assert rmf.first_channel == 0
    np.testing.assert_array_equal(rmf.edisp.to_dense(), (MATRIX_1 / 1e3).astype(np.float64))


def test_rsp_detected_by_values_above_one(tmp_path):
    # EXTNAME MATRIX but values in cm2: the effective area is included
    fits.HDUList(
        [fits.PrimaryHDU(), matrix_hdu(MATRIX_1, 1, extname="MATRIX"), ebounds_hdu()]
    ).writeto(tmp_path / "x.rsp")
    assert read_rmf(tmp_path / "x.rsp").includes_effective_area


# --- malformed files -------------------------------------------------------------------------
@pytest.mark.parametrize("column", ["ENERG_LO", "N_GRP", "F_CHAN", "N_CHAN", "MATRIX"])
def test_missing_matrix_column_names_file_and_column(tmp_path, column):
    path = tmp_path / "broken.rmf"
    fits.HDUList([fits.PrimaryHDU(), matrix_hdu(MATRIX_1, drop=column), ebounds_hdu()]).writeto(
        path
    )
    with pytest.raises(
        FormatError, match=rf"broken\.rmf.*SPECRESP MATRIX.*column {column} is missing"
    ):
        read_rmf(path)


def test_missing_hdus_and_bad_ebounds(tmp_path):
    path = tmp_path / "no_ebounds.rmf"
    fits.HDUList([fits.PrimaryHDU(), matrix_hdu(MATRIX_1)]).writeto(path)
    with pytest.raises(FormatError, match=r"no_ebounds\.rmf: no EBOUNDS HDU"):
        read_rmf(path)
    path = tmp_path / "no_matrix.rmf"
    fits.HDUList([fits.PrimaryHDU(), ebounds_hdu()]).writeto(path)
    with pytest.raises(FormatError, match=r"no_matrix\.rmf: no MATRIX or SPECRESP MATRIX"):
        read_rmf(path)
    path = tmp_path / "gap.rmf"
    gap = EBOUNDS_KEV.copy()
    ebounds = ebounds_hdu(energies=gap)
    ebounds.data["E_MIN"][3] *= 1.01
    fits.HDUList([fits.PrimaryHDU(), matrix_hdu(MATRIX_1), ebounds]).writeto(path)
    with pytest.raises(
        FormatError, match=r"gap\.rmf, HDU EBOUNDS: columns E_MIN/E_MAX are not contiguous"
    ):
        read_rmf(path)
    path = tmp_path / "detchans.rmf"
    hdu = matrix_hdu(MATRIX_1)
    hdu.header["DETCHANS"] = 9
    fits.HDUList([fits.PrimaryHDU(), hdu, ebounds_hdu()]).writeto(path)
    with pytest.raises(FormatError, match="DETCHANS = 9 but EBOUNDS has 8"):
        read_rmf(path)
    (tmp_path / "text.fits").write_text("not a FITS file")
    with pytest.raises(FormatError, match="not a readable FITS file"):
        read_pha(tmp_path / "text.fits")
    with pytest.raises(MissingFileError, match=r"nothing\.pha: file not found"):
        read_pha(tmp_path / "nothing.pha")


def test_malformed_pha_files(tmp_path):
    def pha(columns, **keywords):
        hdu = fits.BinTableHDU.from_columns(columns, name="SPECTRUM")
        for key, value in keywords.items():
            hdu.header[key] = value
        path = tmp_path / f"pha_{len(list(tmp_path.iterdir()))}.pha"
        fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
        return path

    channel = fits.Column("CHANNEL", "I", array=np.arange(N_CHAN))
    counts = fits.Column("COUNTS", "J", array=COUNTS[0])
    with pytest.raises(FormatError, match=r"pha_0\.pha, HDU SPECTRUM: neither a COUNTS nor a RATE"):
        read_pha(pha([channel], EXPOSURE=1.0))
    with pytest.raises(FormatError, match="keyword \\(or column\\) EXPOSURE is missing"):
        read_pha(pha([channel, counts]))
    with pytest.raises(FormatError, match="POISSERR = F but there is no STAT_ERR"):
        read_pha(pha([channel, counts], EXPOSURE=1.0, POISSERR=False))
    path = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns([channel], name="X")]).writeto(
        path
    )
    with pytest.raises(FormatError, match=r"table\.fits: no SPECTRUM HDU"):
        read_pha(path)
    # non-integer counts with POISSERR = T: a warning, and not Poisson
    fractional = fits.Column("COUNTS", "D", array=COUNTS[0] + 0.5)
    with pytest.warns(UserWarning, match="non-integer counts"):
        spectrum = read_pha(pha([channel, fractional], EXPOSURE=1.0, POISSERR=True))
    assert not spectrum.is_poisson
    # float32 rates whose product with the exposure is integral to rounding: Poisson counts
    rate = fits.Column("RATE", "E", array=(COUNTS[1] / 0.3).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spectrum = read_pha(pha([channel, rate], EXPOSURE=0.3, POISSERR=True))
    np.testing.assert_array_equal(spectrum.counts, COUNTS[1])
    assert spectrum.is_poisson


def test_arf_errors_and_grid_mismatch(tmp_path, gbm_folder):
    path = tmp_path / "x.arf"
    columns = [
        fits.Column("ENERG_LO", "E", unit="keV", array=ENERGY_TRUE_KEV[:-1]),
        fits.Column("ENERG_HI", "E", unit="keV", array=ENERGY_TRUE_KEV[1:]),
    ]
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="SPECRESP")]
    ).writeto(path)
    with pytest.raises(FormatError, match=r"x\.arf, HDU SPECRESP: column SPECRESP is missing"):
        read_arf(path)
    shifted = EffectiveArea(ENERGY_TRUE_KEV.astype(float) * 1.1 * u.keV, np.ones(N_TRUE) * u.cm**2)
    write_arf(shifted, gbm_folder / "shifted.arf")
    with pytest.raises(FormatError, match=r"gbm\.pha: response .*gbm\.rsp2 and ARF .*shifted\.arf"):
        with pytest.warns(UserWarning, match="already includes the effective area"):
            read_ogip(
                gbm_folder / "gbm.pha", spectrum_number=1, ancillary=gbm_folder / "shifted.arf"
            )


def test_channel_count_mismatch_names_both_files(tmp_path):
    write_pha2(tmp_path / "gbm.pha")
    write_gaussian_background(tmp_path / "gbm.bak")
    fits.HDUList(
        [fits.PrimaryHDU(), ebounds_hdu(energies=EBOUNDS_KEV[:-1]), matrix_hdu(MATRIX_1[:, :-1])]
    ).writeto(tmp_path / "gbm.rsp2")
    with pytest.raises(FormatError, match=r"8 channels but the response .*gbm\.rsp2 has 7"):
        read_ogip(tmp_path / "gbm.pha", spectrum_number=1)


# --- referenced files: resolution and safety -------------------------------------------------
def test_extended_names():
    assert split_extended_name("file.rsp{2}") == ("file.rsp", 2)
    assert split_extended_name(" file.pha { 12 } ") == ("file.pha", 12)
    assert split_extended_name("file.rsp") == ("file.rsp", None)


@pytest.mark.parametrize("value", ["none", "NONE", "", "  ", "None{1}"])
def test_none_values_mean_absent(tmp_path, value):
    write_pha2(tmp_path / "gbm.pha", respfiles=("NONE", "none", ""), BACKFILE=value)
    bundle = read_ogip(tmp_path / "gbm.pha", spectrum_number=2)
    assert bundle.background is None and bundle.rmf is None and bundle.response is None
    assert resolve_reference(tmp_path / "gbm.pha", "BACKFILE", value) is None


def test_missing_referenced_file_names_pha_keyword_and_path(gbm_folder):
    os.remove(gbm_folder / "gbm.bak")
    with pytest.raises(MissingFileError) as error:
        read_ogip(gbm_folder / "gbm.pha", spectrum_number=1)
    message = str(error.value)
    assert "gbm.pha" in message and "BACKFILE" in message
    assert str((gbm_folder / "gbm.bak").resolve()) in message
    with pytest.raises(MissingFileError, match=r"background = .*elsewhere\.bak"):
        read_ogip(
            gbm_folder / "gbm.pha", spectrum_number=1, background=gbm_folder / "elsewhere.bak"
        )


@pytest.mark.parametrize(
    "value", ["../../etc/x", "../outside.bak", "/etc/passwd", "sub/../../x.bak"]
)
def test_escaping_backfile_raises_path_safety_error(tmp_path, value):
    folder = tmp_path / "data"
    folder.mkdir()
    write_gaussian_background(tmp_path / "outside.bak")
    write_pha2(folder / "gbm.pha", BACKFILE=value)
    write_rsp2(folder / "gbm.rsp2")
    with pytest.raises(PathSafetyError) as error:
        read_ogip(folder / "gbm.pha", spectrum_number=1)
    message = str(error.value)
    assert "gbm.pha" in message and "BACKFILE" in message and repr(value) in message
    assert isinstance(error.value, PermissionError)


def test_opt_outs_allow_files_outside_the_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_gaussian_background(tmp_path / "outside.bak")
    write_pha2(folder / "gbm.pha", BACKFILE="../outside.bak")
    write_rsp2(folder / "gbm.rsp2")
    bundle = read_ogip(folder / "gbm.pha", spectrum_number=1, allow_outside=True)
    assert bundle.background.path == (tmp_path / "outside.bak").resolve()
    # a path passed explicitly is the user's choice: no restriction
    bundle = read_ogip(folder / "gbm.pha", spectrum_number=1, background=tmp_path / "outside.bak")
    assert bundle.background is not None


def test_symlink_escaping_the_folder_is_refused(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_gaussian_background(tmp_path / "outside.bak")
    (folder / "link.bak").symlink_to(tmp_path / "outside.bak")
    write_pha2(folder / "gbm.pha", BACKFILE="link.bak")
    write_rsp2(folder / "gbm.rsp2")
    with pytest.raises(PathSafetyError, match=r"link\.bak"):
        read_ogip(folder / "gbm.pha", spectrum_number=1)


# --- writers ---------------------------------------------------------------------------------
def synthetic_spectrum(**changes):
    n = N_CHAN
    fields = dict(
        channels=np.arange(1, n + 1),
        counts=np.array([3.5, 0.0, 1.25, 7.0, 2.0, 1e-3, 5.0, 0.1]),
        exposure=1234.5678901234567,
        backscal=np.linspace(0.1, 0.8, n),
        areascal=0.75,
        quality=np.array([0, 0, 1, 0, 0, 5, 0, 0]),
        grouping=np.array([1, -1, 1, 1, -1, -1, 1, 1]),
        is_poisson=False,
        stat_err=np.sqrt(np.arange(n) + 1.0) / 3,
        sys_err=np.full(n, 0.03),
        filenames={"RESPFILE": "x.rmf", "ANCRFILE": "x.arf", "BACKFILE": "NONE"},
        header=fits.Header([("TELESCOP", "HESS"), ("OBJECT", "Crab"), ("MYKEY", 42, "kept")]),
        ebounds=EnergyBounds.from_edges(EBOUNDS_KEV.astype(float) * u.keV, first_channel=1),
        gti=GoodTimeIntervals([0.0, 100.0], [50.0, 180.5], fits.Header([("MJDREFI", 51910)])),
        meta={"name": "synthetic", "TELESCOP": "HESS", "OBJECT": "Crab"},
        extra_columns={"MY_WEIGHT": np.linspace(1, 2, n).astype(np.float32)},
    )
    fields.update(changes)
    return PHASpectrum(**fields)


def test_pha_writer_round_trip_is_bit_for_bit(tmp_path):
    spectrum = synthetic_spectrum()
    write_pha(spectrum, tmp_path / "x.pha")
    again = read_pha(tmp_path / "x.pha")
    for name in ("channels", "counts", "quality", "grouping", "backscal", "stat_err", "sys_err"):
        expected = getattr(spectrum, name)
        np.testing.assert_array_equal(getattr(again, name), expected)
        assert getattr(again, name).dtype == expected.dtype
    assert again.exposure == spectrum.exposure and again.areascal == 0.75
    assert again.is_poisson is False
    assert again.filenames == {
        "BACKFILE": None,
        "RESPFILE": "x.rmf",
        "ANCRFILE": "x.arf",
        "CORRFILE": None,
    }
    assert again.header["MYKEY"] == 42 and again.header.comments["MYKEY"] == "kept"
    assert again.meta == {"name": "x", "TELESCOP": "HESS", "OBJECT": "Crab", "CHANTYPE": "PHA"}
    np.testing.assert_array_equal(again.ebounds.energy_min, spectrum.ebounds.energy_min)
    np.testing.assert_array_equal(again.gti.stop, [50.0, 180.5])
    assert again.gti.header["MJDREFI"] == 51910
    np.testing.assert_array_equal(
        again.extra_columns["MY_WEIGHT"], np.linspace(1, 2, 8).astype(np.float32)
    )
    with fits.open(tmp_path / "x.pha") as hdulist:
        assert [hdu.name for hdu in hdulist] == ["PRIMARY", "SPECTRUM", "EBOUNDS", "GTI"]
        spectrum_hdu = hdulist["SPECTRUM"]
        formats = dict(zip(spectrum_hdu.columns.names, spectrum_hdu.columns.formats))
        assert formats["COUNTS"] == "D" and formats["CHANNEL"] == "I"  # non-integer counts
        assert formats["MY_WEIGHT"] == "E"
        assert spectrum_hdu.header["POISSERR"] is False
        assert spectrum_hdu.header["TLMIN1"] == 1 and spectrum_hdu.header["HDUCLAS4"] == "TYPE:I"


def test_integer_counts_and_scalar_keywords(tmp_path):
    spectrum = synthetic_spectrum(
        counts=np.arange(8.0) * 3,
        is_poisson=True,
        stat_err=None,
        sys_err=None,
        grouping=None,
        backscal=0.125,
        gti=None,
        ebounds=None,
        extra_columns={},
    )
    write_background(spectrum, tmp_path / "x_bkg.fits")
    with fits.open(tmp_path / "x_bkg.fits") as hdulist:
        header = hdulist["SPECTRUM"].header
        assert hdulist["SPECTRUM"].columns["COUNTS"].format == "J"
        assert header["BACKSCAL"] == 0.125 and header["GROUPING"] == 0
        assert header["HDUCLAS2"] == "BKG" and header["POISSERR"] is True
    again = read_pha(tmp_path / "x_bkg.fits")
    assert again.is_background and again.is_poisson and again.grouping is None
    np.testing.assert_array_equal(again.counts, np.arange(8.0) * 3)


def test_writers_refuse_to_overwrite(tmp_path):
    spectrum = synthetic_spectrum()
    write_pha(spectrum, tmp_path / "x.pha")
    with pytest.raises(OverwriteError, match=r"x\.pha: file exists"):
        write_pha(spectrum, tmp_path / "x.pha")
    write_pha(synthetic_spectrum(exposure=1.0), tmp_path / "x.pha", overwrite=True)
    assert read_pha(tmp_path / "x.pha").exposure == 1.0
    rmf = RMF.from_edisp(
        EnergyDispersionMatrix(ENERGY_TRUE_KEV * u.keV, EBOUNDS_KEV * u.keV, MATRIX_1 / 1e3)
    )
    write_rmf(rmf, tmp_path / "x.rmf")
    with pytest.raises(OverwriteError):
        write_rmf(rmf, tmp_path / "x.rmf")
    write_arf(EffectiveArea([1, 2] * u.TeV, [3.0] * u.cm**2), tmp_path / "x.arf")
    with pytest.raises(OverwriteError):
        write_arf(EffectiveArea([1, 2] * u.TeV, [3.0] * u.cm**2), tmp_path / "x.arf")


@pytest.mark.parametrize("first_channel", [0, 1])
@pytest.mark.parametrize("variable_length", [True, False])
def test_rmf_writer_round_trip(tmp_path, first_channel, variable_length):
    matrix = (MATRIX_1 / 1e3).astype(np.float64) * 1.1  # not float32: written as float64
    edisp = EnergyDispersionMatrix(ENERGY_TRUE_KEV * u.keV, EBOUNDS_KEV * u.keV, matrix)
    rmf = RMF.from_edisp(edisp, first_channel=first_channel)
    assert not rmf.includes_effective_area
    path = tmp_path / "x_rmf.fits.gz"
    write_rmf(rmf, path, variable_length=variable_length)
    again = read_rmf(path)
    np.testing.assert_array_equal(again.edisp.to_dense(), matrix)
    np.testing.assert_array_equal(again.edisp.energy_true_edges.value, ENERGY_TRUE_KEV)
    assert again.first_channel == first_channel and again.header["EXTNAME"] == "MATRIX"
    with fits.open(path) as hdulist:
        hdulist.verify("exception")
        assert [hdu.name for hdu in hdulist] == ["PRIMARY", "MATRIX", "EBOUNDS"]
        header = hdulist["MATRIX"].header
        assert header["TLMIN4"] == first_channel and header["DETCHANS"] == N_CHAN
        assert header["NUMELT"] == np.count_nonzero(matrix)
        assert header["NUMGRP"] == sum(len(groups_of(row)) for row in matrix)
        assert hdulist["MATRIX"].columns["MATRIX"].format.endswith("D") or "PD" in (
            hdulist["MATRIX"].columns["MATRIX"].format
        )
        assert hdulist["MATRIX"].columns["ENERG_LO"].format == "E"  # float32 values kept compact


def test_write_ogip_links_the_files_like_gammapy(tmp_path, gbm_folder):
    bundle = read_ogip(gbm_folder / "gbm.pha", spectrum_number=2)
    arf = ARF(EffectiveArea(ENERGY_TRUE_KEV * u.keV, np.full(N_TRUE, 2.0) * u.cm**2))
    written = write_ogip(
        tmp_path / "out" / "run1.fits",
        bundle.spectrum,
        background=bundle.background,
        rmf=bundle.rmf,
        arf=arf,
    )
    assert written == {
        "PHA": tmp_path / "out" / "run1.fits",
        **ogip_filenames(tmp_path / "out" / "run1.fits"),
    }
    assert (
        written["BACKFILE"].name == "run1_bkg.fits" and written["RESPFILE"].name == "run1_rmf.fits"
    )
    with pytest.warns(UserWarning, match="already includes the effective area"):
        again = read_ogip(tmp_path / "out" / "run1.fits")
    assert again.spectrum.filenames["BACKFILE"] == "run1_bkg.fits"
    np.testing.assert_array_equal(again.spectrum.counts, bundle.spectrum.counts)
    np.testing.assert_array_equal(again.background.counts, bundle.background.counts)
    np.testing.assert_array_equal(again.background.stat_err, bundle.background.stat_err)
    assert not again.background.is_poisson
    np.testing.assert_array_equal(again.rmf.edisp.to_dense(), bundle.rmf.edisp.to_dense())
    np.testing.assert_allclose(again.response.to_dense(), 2.0 * bundle.response.to_dense())
    with pytest.raises(OverwriteError):
        write_ogip(tmp_path / "out" / "run1.fits", bundle.spectrum, rmf=bundle.rmf)
