"""Stream a FITS binary table with variable-length columns, without per-row objects.

astropy writes a variable-length ('P') column from an object array holding one
small array per row and re-assembles the heap on writing: for a 60,000-row
response matrix with 3 million elements that costs ~2 s and ~250 MB. Here the
heap is written from the flat concatenated values, block by block (one block
per variable-length column), with the row descriptors computed from the row
lengths: ~0.2 s and little more memory than the values themselves.

The layout is plain FITS (Pence et al. 2010, section 7.3): the header, then
NAXIS2 rows of NAXIS1 bytes, then the heap (PCOUNT bytes, THEAP = NAXIS1 *
NAXIS2), padded with zeros to a multiple of 2880 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.io import fits

__all__ = ["FITS_BLOCK", "TableColumn", "write_bintable_hdu", "bintable_header"]

#: FITS block size in bytes.
FITS_BLOCK = 2880

# Big-endian element dtypes by TFORM letter.
_DTYPES = {"L": "i1", "B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}


@dataclass(frozen=True)
class TableColumn:
    """A column to write.

    ``letter`` is the TFORM data type (I, J, K, E, D, B). Fixed columns give
    ``values`` of shape ``(n_rows,)`` or ``(n_rows, repeat)``; variable-length
    columns give ``values`` flat and ``lengths`` per row.
    """

    name: str
    letter: str
    values: np.ndarray
    lengths: np.ndarray | None = None
    unit: str | None = None

    @property
    def is_variable(self) -> bool:
        return self.lengths is not None


def _pad(n_bytes: int) -> int:
    return (-n_bytes) % FITS_BLOCK


def _layout(columns, n_rows: int):
    """Row dtype, TFORMs, descriptors per variable column, and heap size."""
    heap_size = 0
    for column in columns:
        if column.is_variable:
            heap_size += int(column.values.size) * np.dtype(_DTYPES[column.letter]).itemsize
    descriptor_letter = "P" if heap_size < 2**31 else "Q"
    descriptor_dtype = ">i4" if descriptor_letter == "P" else ">i8"
    fields, tforms, descriptors = [], [], {}
    heap_offset = 0
    for column in columns:
        element = np.dtype(_DTYPES[column.letter])
        if column.is_variable:
            lengths = np.asarray(column.lengths, dtype=np.int64)
            if lengths.shape != (n_rows,) or lengths.sum() != column.values.size:
                raise ValueError(f"column {column.name}: row lengths do not match the values")
            offsets = np.zeros(n_rows, dtype=np.int64)
            if n_rows > 1:
                np.cumsum(lengths[:-1] * element.itemsize, out=offsets[1:])
            descriptor = np.empty((n_rows, 2), dtype=descriptor_dtype)
            descriptor[:, 0] = lengths
            descriptor[:, 1] = offsets + heap_offset
            descriptors[column.name] = descriptor
            heap_offset += int(column.values.size) * element.itemsize
            fields.append((column.name, descriptor_dtype, (2,)))
            longest = int(lengths.max(initial=0))
            tforms.append(f"1{descriptor_letter}{column.letter}({longest})")
        else:
            values = np.asarray(column.values)
            if values.shape[:1] != (n_rows,):
                raise ValueError(f"column {column.name}: {values.shape[0]} rows, expected {n_rows}")
            repeat = int(np.prod(values.shape[1:], dtype=np.int64))
            fields.append((column.name, element, values.shape[1:]))
            tforms.append(column.letter if values.ndim == 1 else f"{repeat}{column.letter}")
    return np.dtype(fields), tforms, descriptors, heap_size


def bintable_header(columns, n_rows: int, extname: str) -> fits.Header:
    """The structural header (XTENSION ... TUNITn, EXTNAME) of the table to be written."""
    dtype, tforms, _, heap_size = _layout(columns, n_rows)
    header = fits.Header()
    header["XTENSION"] = ("BINTABLE", "binary table extension")
    header["BITPIX"] = (8, "array data type")
    header["NAXIS"] = (2, "number of array dimensions")
    header["NAXIS1"] = (dtype.itemsize, "length of dimension 1")
    header["NAXIS2"] = (n_rows, "length of dimension 2")
    header["PCOUNT"] = (heap_size, "number of group parameters")
    header["GCOUNT"] = (1, "number of groups")
    header["TFIELDS"] = (len(columns), "number of table fields")
    for index, (column, tform) in enumerate(zip(columns, tforms, strict=True), start=1):
        header[f"TTYPE{index}"] = column.name
        header[f"TFORM{index}"] = tform
        if column.unit:
            header[f"TUNIT{index}"] = column.unit
    header["EXTNAME"] = (extname, "extension name")
    return header


def write_bintable_hdu(stream, columns, n_rows: int, header: fits.Header) -> None:
    """Write one binary-table HDU to the open binary ``stream``.

    Parameters
    ----------
    stream : file-like
        Opened for binary writing, positioned at an HDU boundary.
    columns : list of `TableColumn`
        The columns, in order.
    n_rows : int
        Number of rows.
    header : `~astropy.io.fits.Header`
        From `bintable_header` (plus any other keywords).
    """
    dtype, _, descriptors, heap_size = _layout(columns, n_rows)
    stream.write(header.tostring(padding=True).encode("ascii"))
    rows = np.zeros(n_rows, dtype=dtype)
    for column in columns:
        if column.is_variable:
            rows[column.name] = descriptors[column.name]
        else:
            rows[column.name] = column.values
    stream.write(rows.view(np.uint8))
    for column in columns:
        if column.is_variable and column.values.size:
            block = np.ascontiguousarray(column.values, dtype=_DTYPES[column.letter])
            stream.write(block.view(np.uint8))
    stream.write(b"\0" * _pad(rows.nbytes + heap_size))
