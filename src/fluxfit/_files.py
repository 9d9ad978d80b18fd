"""File checks shared by every reader and writer of fluxfit.

- `check_output`: what a writer checks before it writes ``path``: the folder exists
  (`~fluxfit.errors.MissingFileError` naming it, not a bare ``FileNotFoundError`` from deep
  inside astropy or yaml) and the file does not, unless ``overwrite=True``
  (`~fluxfit.errors.OverwriteError`).
- `check_fits_sizes`: walks the headers of a FITS file (reading the header blocks only, and
  seeking over the data) and refuses, with a `~fluxfit.errors.FormatError` naming the file,
  the HDU and the keywords, a header whose NAXIS is outside 0..999 (astropy would loop over
  that many axes) or whose declared data size (``|BITPIX|/8 * GCOUNT * (PCOUNT + NAXIS1 *
  ... * NAXISn)``) does not fit in the file (astropy would try to allocate it: a
  ``NAXIS2 = 10**12`` card asks for terabytes). Call it before ``fits.open``.

Examples
--------
>>> from fluxfit._files import check_output
>>> check_output("/no/such/folder/out.fits")
Traceback (most recent call last):
...
fluxfit.errors.MissingFileError: cannot write '/no/such/folder/out.fits': the folder '/no/such/folder' does not exist
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path

from fluxfit.errors import FormatError, MissingFileError, OverwriteError, short_repr

__all__ = ["check_output", "check_fits_sizes"]

_BLOCK = 2880
_CARD = 80
#: Deflate cannot compress better than about 1032:1: a gzip file of n bytes holds at most
#: this many times n bytes once decompressed.
_GZIP_RATIO = 1032


def check_output(path, overwrite: bool = False, what: str = "") -> Path:
    """Check that a writer may create ``path``; return it as a `~pathlib.Path`.

    Parameters
    ----------
    path : str or Path
        The file about to be written (``~`` is expanded).
    overwrite : bool
        Whether an existing file may be replaced.
    what : str
        What is written, for the message (e.g. ``"models YAML"``).

    Raises
    ------
    OverwriteError
        ``path`` exists and ``overwrite`` is False.
    MissingFileError
        The folder of ``path`` does not exist (or is not a folder).
    """
    path = Path(str(path)).expanduser()
    label = f"{what} {str(path)!r}" if what else repr(str(path))
    if path.exists() and not overwrite:
        raise OverwriteError(f"{label} exists; pass overwrite=True to replace it")
    folder = path.parent
    if not folder.is_dir():
        state = "is not a folder" if folder.exists() else "does not exist"
        raise MissingFileError(f"cannot write {label}: the folder {str(folder)!r} {state}")
    return path


def _card_int(value: bytes):
    """The integer of a fixed-format card value (``= 123 / comment``), or None."""
    text = value.split(b"/", 1)[0].strip()
    try:
        return int(text)
    except ValueError:
        return None


def _read_header(stream) -> tuple[dict, int] | None:
    """Integer and logical keywords of one header and its length in bytes; None at EOF or
    when the header has no END card (astropy reports that)."""
    keys: dict = {}
    length = 0
    while True:
        block = stream.read(_BLOCK)
        if len(block) < _BLOCK:
            return None
        length += _BLOCK
        for start in range(0, _BLOCK, _CARD):
            card = block[start : start + _CARD]
            keyword = card[:8].rstrip()
            if keyword == b"END":
                return keys, length
            if card[8:10] != b"= ":
                continue
            if keyword in (b"SIMPLE", b"GROUPS"):
                keys[keyword.decode()] = card[10:].split(b"/", 1)[0].strip() == b"T"
            elif keyword in (b"BITPIX", b"NAXIS", b"PCOUNT", b"GCOUNT") or (
                keyword.startswith(b"NAXIS") and keyword[5:].isdigit()
            ):
                keys.setdefault(keyword.decode(), _card_int(card[10:]))
            elif keyword == b"EXTNAME":
                keys["EXTNAME"] = (
                    card[10:].split(b"/", 1)[0].strip(b" '").decode("ascii", "replace")
                )


def _data_size(keys: dict, label: str) -> int | None:
    """Bytes of data declared by a header (without padding); None if a keyword is unusable
    (astropy reports that)."""
    naxis = keys.get("NAXIS")
    if naxis is None:
        return None
    if not 0 <= naxis <= 999:
        raise FormatError(f"{label}: NAXIS = {short_repr(naxis)}; FITS allows 0 to 999")
    bitpix = keys.get("BITPIX")
    if bitpix not in (8, 16, 32, 64, -32, -64):
        return None
    if naxis == 0:
        return 0
    axes = [keys.get(f"NAXIS{i}") for i in range(1, naxis + 1)]
    if any(n is None or n < 0 for n in axes):
        return None
    pcount, gcount = keys.get("PCOUNT", 0), keys.get("GCOUNT", 1)
    if pcount is None or gcount is None or pcount < 0 or gcount < 0:
        return None
    if keys.get("GROUPS") and axes[0] == 0:  # random groups: NAXIS1 = 0 is not an axis
        axes = axes[1:]
    size = 1
    for n in axes:
        size *= n
    return abs(bitpix) // 8 * gcount * (pcount + size)


def _walk(stream, file_size: int | None, limit: int, label: str) -> None:
    """Check the headers of ``stream`` one HDU after the other."""
    if stream.read(9) != b"SIMPLE  =":
        return  # not FITS (e.g. an ECSV table): the reader says so
    stream.seek(0)
    offset = 0
    index = 0
    while True:
        found = _read_header(stream)
        if found is None:
            return
        keys, length = found
        name = keys.get("EXTNAME") or ("PRIMARY" if index == 0 else "")
        where = f"{label}, HDU {index}" + (f" ({name})" if name else "")
        size = _data_size(keys, where)
        if size is None:
            return
        start = offset + length
        end = start + size
        bound = file_size if file_size is not None else limit
        if end > bound:
            axes = ", ".join(
                f"NAXIS{i} = {keys.get(f'NAXIS{i}')}" for i in range(1, keys["NAXIS"] + 1)
            )
            if len(axes) > 200:
                axes = axes[:200] + "..."
            extra = "".join(
                f", {k} = {keys[k]}" for k in ("PCOUNT", "GCOUNT") if keys.get(k) not in (None,)
            )
            have = (
                f"the file has {file_size} bytes"
                if file_size is not None
                else f"the gzip file holds at most {limit} bytes"
            )
            raise FormatError(
                f"{where}: header declares {size} bytes of data (BITPIX = {keys['BITPIX']}, "
                f"{axes}{extra}) from byte {start}, but {have}; truncated file or damaged header"
            )
        padded = -(-size // _BLOCK) * _BLOCK
        offset = start + padded
        index += 1
        if file_size is not None and offset >= file_size:
            return
        try:
            stream.seek(offset)
        except (OSError, EOFError, zlib.error, ValueError):  # pragma: no cover
            return  # a damaged gzip stream: astropy reports it


def check_fits_sizes(source, label: str | None = None) -> None:
    """Refuse a FITS file whose headers declare impossible data sizes (see the module).

    Parameters
    ----------
    source : str, Path, bytes or memoryview
        The file (plain or gzipped), or its bytes already in memory.
    label : str, optional
        How the file is named in messages (default its path).

    Raises
    ------
    FormatError
        NAXIS outside 0..999, or data declared beyond the end of the file.

    Notes
    -----
    Only header blocks are read; data blocks are skipped with ``seek``. A gzipped file is
    first compared with the largest size it can hold (1032 times its compressed size); walking
    past its data blocks decompresses them without keeping them (astropy decompresses them
    again when it reads).
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source) if not isinstance(source, bytes) else source
        _walk(io.BytesIO(data), len(data), len(data), label or "<bytes>")
        return
    path = Path(str(source))
    label = label or str(path)
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            magic = handle.read(2)
            handle.seek(0)
            if magic == b"\x1f\x8b":
                with gzip.GzipFile(fileobj=handle) as stream:
                    _walk(stream, None, size * _GZIP_RATIO + _BLOCK, label)
            else:
                _walk(handle, size, size, label)
    except (OSError, EOFError, zlib.error):
        return  # unreadable or damaged compression: the reader's own open reports it
