"""The streaming binary-table writer produces FITS that astropy reads back exactly."""

import gzip

import numpy as np
from astropy.io import fits

from fluxfit.irf.bintable_writer import (
    FITS_BLOCK,
    TableColumn,
    bintable_header,
    write_bintable_hdu,
)


def test_variable_and_fixed_columns_read_back_by_astropy(tmp_path):
    lengths = np.array([0, 3, 1, 5])
    values = np.arange(9, dtype=np.float32) / 7
    columns = [
        TableColumn("ENERG_LO", "D", np.array([1.0, 2.0, 3.0, 4.0]), unit="keV"),
        TableColumn("WIDE", "J", np.arange(8, dtype=np.int32).reshape(4, 2)),
        TableColumn("GROUPS", "I", np.array([7, 8, 9], dtype=np.int16), np.array([1, 0, 2, 0])),
        TableColumn("MATRIX", "E", values, lengths),
    ]
    header = bintable_header(columns, 4, "MATRIX")
    header["DETCHANS"] = 9
    path = tmp_path / "table.fits"
    with open(path, "wb") as stream:
        fits.HDUList([fits.PrimaryHDU()]).writeto(stream)
        write_bintable_hdu(stream, columns, 4, header)
    assert path.stat().st_size % FITS_BLOCK == 0
    with fits.open(path) as hdulist:
        hdulist.verify("exception")
        hdu = hdulist["MATRIX"]
        assert hdu.header["DETCHANS"] == 9
        assert hdu.columns["ENERG_LO"].unit == "keV"
        assert hdu.columns["MATRIX"].format == "1PE(5)"
        np.testing.assert_array_equal(hdu.data["WIDE"], np.arange(8).reshape(4, 2))
        rows = hdu.data["MATRIX"]
        np.testing.assert_array_equal(np.concatenate(list(rows)), values)
        assert [len(row) for row in rows] == lengths.tolist()
        assert [list(row) for row in hdu.data["GROUPS"]] == [[7], [], [8, 9], []]


def test_gzip_stream(tmp_path):
    columns = [TableColumn("X", "E", np.array([1.5, 2.5], dtype=np.float32), np.array([1, 1]))]
    path = tmp_path / "table.fits.gz"
    with gzip.open(path, "wb") as stream:
        fits.HDUList([fits.PrimaryHDU()]).writeto(stream)
        write_bintable_hdu(stream, columns, 2, bintable_header(columns, 2, "T"))
    with fits.open(path) as hdulist:
        assert [float(row[0]) for row in hdulist["T"].data["X"]] == [1.5, 2.5]
