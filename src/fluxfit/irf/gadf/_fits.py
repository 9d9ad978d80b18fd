"""FITS helpers shared by the GADF DL3 readers (`fluxfit.data` and `fluxfit.irf.gadf`).

Every failure is raised as a fluxfit error whose message names the file, the HDU, the column
or keyword, the observation id when one is known, and the offending value.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning

from fluxfit._files import check_fits_sizes
from fluxfit.errors import FormatError, MissingFileError, UnitError

__all__ = [
    "describe",
    "open_fits",
    "find_table_hdu",
    "FitsTable",
    "parse_unit",
    "read_table",
    "kept_header",
    "clear_cache",
]

#: Exceptions raised by astropy / gzip / zlib on a damaged file (astropy's truncation warning
#: is turned into an error inside `open_fits`).
READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    zlib.error,
    AstropyUserWarning,
    fits.VerifyError,
)


def describe(filename=None, hdu=None, obs_id=None, column=None) -> str:
    """Context prefix for messages: ``file 'f', HDU 'AEFF', column 'X' (obs_id 1)``."""
    parts = []
    if filename is not None:
        parts.append(f"file '{filename}'")
    if hdu is not None:
        parts.append(f"HDU {hdu!r}")
    if column is not None:
        parts.append(f"column {column!r}")
    text = ", ".join(parts) if parts else "table"
    if obs_id is not None:
        text += f" (obs_id {obs_id})"
    return text


#: Decompressed bytes of the most recently read gzipped files (a DL3 run file holds events,
#: GTI and four IRFs read one after the other: decompress it once, not six times).
_GZIP_CACHE: OrderedDict = OrderedDict()
_GZIP_CACHE_SIZE = 4


def _gunzip(path: Path) -> bytes:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key in _GZIP_CACHE:
        _GZIP_CACHE.move_to_end(key)
        return _GZIP_CACHE[key]
    data = gzip.decompress(path.read_bytes())
    _GZIP_CACHE[key] = data
    while len(_GZIP_CACHE) > _GZIP_CACHE_SIZE:
        _GZIP_CACHE.popitem(last=False)
    return data


def clear_cache() -> None:
    """Forget the decompressed files kept by `open_fits`."""
    _GZIP_CACHE.clear()


@contextmanager
def open_fits(filename, obs_id=None):
    """Open a (possibly gzipped) FITS file read-only, mapping failures to fluxfit errors.

    Gzipped files are decompressed in memory once and kept for the next few reads.

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        The file is not readable as FITS (truncated gzip, garbage...).
    """
    path = Path(filename)
    if not path.is_file():
        raise MissingFileError(f"{describe(path, obs_id=obs_id)}: file not found")
    label = describe(path, obs_id=obs_id)
    try:
        with open(path, "rb") as handle:
            magic = handle.read(2)
        source = _gunzip(path) if magic == b"\x1f\x8b" else path
    except READ_ERRORS as exc:
        raise FormatError(f"{label}: cannot be read as FITS ({type(exc).__name__}: {exc})") from exc
    # impossible NAXIS / data sizes, before astropy allocates them (headers only)
    check_fits_sizes(source, label=label)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "error", message="File may have been truncated", category=AstropyUserWarning
            )
            # every header parsed now: a damaged or truncated file fails here, named
            if isinstance(source, bytes):
                hdulist = fits.open(io.BytesIO(source), memmap=False, lazy_load_hdus=False)
            else:
                hdulist = fits.open(path, memmap=False, lazy_load_hdus=False)
    except READ_ERRORS as exc:
        raise FormatError(
            f"{describe(path, obs_id=obs_id)}: cannot be read as FITS ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "error", message="File may have been truncated", category=AstropyUserWarning
            )
            yield hdulist
    finally:
        hdulist.close()


def _hdu_names(hdulist) -> list[str]:
    try:
        return [h.name for h in hdulist]
    except READ_ERRORS:
        return []


def find_table_hdu(hdulist, hdu, filename=None, obs_id=None, hduclas4=None):
    """The binary table HDU ``hdu`` (name or index) of ``hdulist``.

    With ``hdu=None`` the first table whose ``HDUCLAS4`` equals ``hduclas4`` is used, else the
    first binary table.
    """
    try:
        if hdu is None:
            tables = [h for h in hdulist if isinstance(h, fits.BinTableHDU)]
            if hduclas4 is not None:
                matching = [
                    h
                    for h in tables
                    if str(h.header.get("HDUCLAS4", "")).strip().upper() == hduclas4.upper()
                ]
                if matching:
                    return matching[0]
            if not tables:
                raise FormatError(f"{describe(filename, obs_id=obs_id)}: no binary table HDU")
            return tables[0]
        if isinstance(hdu, str):
            wanted = hdu.strip().upper()
            for h in hdulist:
                if h.name.strip().upper() == wanted:
                    found = h
                    break
            else:
                raise FormatError(
                    f"{describe(filename, hdu, obs_id)}: HDU not found in file "
                    f"(HDUs present: {_hdu_names(hdulist)})"
                )
        else:
            try:
                found = hdulist[int(hdu)]
            except IndexError:
                raise FormatError(
                    f"{describe(filename, hdu, obs_id)}: HDU index out of range "
                    f"(file has {len(hdulist)} HDUs: {_hdu_names(hdulist)})"
                ) from None
    except FormatError:
        raise
    except READ_ERRORS as exc:
        raise FormatError(
            f"{describe(filename, hdu, obs_id)}: cannot read the file structure "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(found, fits.BinTableHDU):
        raise FormatError(
            f"{describe(filename, hdu, obs_id)}: expected a binary table, "
            f"got {type(found).__name__}"
        )
    return found


def parse_unit(value, context: str) -> u.UnitBase | None:
    """Parse a TUNIT / keyword unit string (FITS then generic syntax); None for empty."""
    if value is None:
        return None
    if isinstance(value, u.UnitBase):
        return value
    text = str(value).strip()
    if text == "":
        return None
    for fmt in ("fits", "generic"):
        try:
            return u.Unit(text, format=fmt)
        except ValueError:
            continue
    raise UnitError(f"{context}: unit {text!r} is not a valid unit")


class FitsTable:
    """The header and columns of one binary table HDU, read eagerly (data copied).

    Parameters
    ----------
    hdu : `~astropy.io.fits.BinTableHDU`
    filename : str or Path, optional
        For messages.
    obs_id : int, optional
        For messages.
    """

    def __init__(self, hdu, filename=None, obs_id=None):
        self.filename = filename
        self.obs_id = obs_id
        self.name = hdu.name
        try:
            self.header = hdu.header.copy()
            for card in self.header.cards:
                card.value  # noqa: B018 - parse every card now: a damaged one is named here
            columns = hdu.columns
            self.colnames = [c.name for c in columns]
            self._units = {c.name: c.unit for c in columns}
            data = hdu.data
            self.nrows = 0 if data is None else len(data)
            self._columns = {}
            if data is not None:
                for name in self.colnames:
                    self._columns[name] = np.array(data[name])
        except READ_ERRORS as exc:
            raise FormatError(
                f"{describe(filename, self.name, obs_id)}: cannot read the table header or data "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    # ------------------------------------------------------------------ messages
    def context(self, column=None) -> str:
        return describe(self.filename, self.name, self.obs_id, column)

    # ------------------------------------------------------------------ header
    def keyword(self, key, default=None, required=False):
        """Header keyword value (stripped strings); FormatError if required and absent."""
        if key in self.header:
            value = self.header[key]
            return value.strip() if isinstance(value, str) else value
        if required:
            raise FormatError(f"{self.context()}: missing header keyword {key!r}")
        return default

    def float_keyword(self, key, default=None, required=False) -> float | None:
        value = self.keyword(key, default=default, required=required)
        if value is None:
            return None
        try:
            if isinstance(value, str):
                value = value.replace("D", "E").replace("d", "e")
            result = float(value)
        except (TypeError, ValueError):
            raise FormatError(
                f"{self.context()}: header keyword {key!r} = {value!r} is not a number"
            ) from None
        return result

    # ------------------------------------------------------------------ columns
    def has(self, name) -> bool:
        return name in self._columns

    def column(self, name) -> np.ndarray:
        """The column array (all rows); FormatError naming the column when absent."""
        if name not in self._columns:
            raise FormatError(
                f"{self.context()}: missing column {name!r} (columns: {self.colnames})"
            )
        return self._columns[name]

    def unit(self, name, default=None) -> u.UnitBase | None:
        unit = parse_unit(self._units.get(name), self.context(name))
        return default if unit is None else unit

    def row(self, name, row=0) -> np.ndarray:
        """One row of a (vector) column, e.g. the single row of an IRF table."""
        column = self.column(name)
        if len(column) <= row:
            raise FormatError(
                f"{self.context(name)}: table has {len(column)} rows, need a row {row}"
            )
        return np.asarray(column[row])

    def quantity(self, name, unit, row=None, default_unit=None) -> np.ndarray:
        """Column values converted to ``unit`` (float64 ndarray).

        The column unit comes from TUNIT; when absent ``default_unit`` is assumed (if given),
        otherwise a `UnitError` is raised unless ``unit`` is dimensionless.
        """
        values = self.column(name) if row is None else self.row(name, row)
        target = u.Unit(unit)
        column_unit = self.unit(name, default=default_unit)
        if column_unit is None:
            if target.physical_type == "dimensionless":
                column_unit = u.one
            else:
                raise UnitError(
                    f"{self.context(name)}: no unit (TUNIT) given, expected a unit convertible "
                    f"to {target}"
                )
        try:
            factor = column_unit.to(target)
        except u.UnitConversionError:
            raise UnitError(
                f"{self.context(name)}: unit {column_unit} is not convertible to {target}"
            ) from None
        try:
            array = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormatError(f"{self.context(name)}: values are not numbers") from None
        return array * factor if factor != 1 else array


_STRUCTURAL_PREFIXES = (
    "XTENSION",
    "BITPIX",
    "NAXIS",
    "PCOUNT",
    "GCOUNT",
    "TFIELDS",
    "EXTNAME",
    "TTYPE",
    "TFORM",
    "TUNIT",
    "TDIM",
    "TNULL",
    "TSCAL",
    "TZERO",
    "TDISP",
    "TCTYP",
    "TCUNI",
    "CREF",
)


def kept_header(header, drop=()) -> dict:
    """Header keywords worth keeping in memory: no table structure, comments or ``drop`` keys."""
    kept = {}
    for key, value in header.items():
        if key in ("", "COMMENT", "HISTORY") or key in drop:
            continue
        if key.startswith(_STRUCTURAL_PREFIXES):
            continue
        kept[key] = value
    return kept


def read_table(filename, hdu, obs_id=None, hduclas4=None) -> FitsTable:
    """Read one binary table HDU of a FITS file into a `FitsTable`."""
    with open_fits(filename, obs_id=obs_id) as hdulist:
        table_hdu = find_table_hdu(hdulist, hdu, filename, obs_id, hduclas4=hduclas4)
        return FitsTable(table_hdu, filename=filename, obs_id=obs_id)
