"""Shared machinery of the fuzz tests: mutation of FITS / text / YAML files and case accounting.

Every fuzz case starts from a valid file (built with astropy or fluxfit's writers), applies a
few mutations drawn by hypothesis and calls a reader through `attempt`, which

* counts the outcome per reader (``read`` or ``error:<FluxfitError subclass>``) in `RECORD`
  (the conftest of this folder writes the counts to a JSON file at the end of the session);
* lets any other exception propagate, so hypothesis reports (and shrinks) the escape;
* stops a case that runs for more than `HARD_TIMEOUT` s with `CaseTimeout` (a hang); the
  hypothesis ``deadline`` of the profile (2 s) is the per-case limit checked normally;
* checks that the error message names something the user can act on (a file name or key).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import signal
import threading
import traceback
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits
from hypothesis import note
from hypothesis import strategies as st

from fluxfit.errors import FluxfitError

__all__ = [
    "RECORD",
    "HARD_TIMEOUT",
    "CaseTimeout",
    "attempt",
    "hdul_bytes",
    "mutate_fits",
    "mutate_bytes",
    "mutate_text",
    "write_case",
]

#: reader name -> Counter of outcomes ("read", "error:FormatError", ...).
RECORD: dict[str, Counter] = defaultdict(Counter)

#: A case running longer than this is a hang (the profile's deadline, 2 s, is the normal limit).
HARD_TIMEOUT = 20.0


class CaseTimeout(BaseException):
    """A fuzz case ran for more than `HARD_TIMEOUT` seconds (BaseException: not swallowable)."""


@contextlib.contextmanager
def hard_limit(seconds: float = HARD_TIMEOUT):
    """Raise `CaseTimeout` in the main thread after ``seconds`` (no-op elsewhere)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def handler(signum, frame):
        raise CaseTimeout(f"fuzz case ran for more than {seconds} s (hang)")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def attempt(reader: str, call: Callable, names: Sequence[str] = ()):
    """Run one case of ``reader``; return ``(result, None)`` or ``(None, error)``.

    Only `~fluxfit.errors.FluxfitError` is caught; it must carry a message that mentions one
    of ``names`` (file names, keys) when given.
    """
    with hard_limit():
        try:
            result = call()
        except Exception as exc:
            if isinstance(exc, FluxfitError):
                return _named_error(reader, exc, names)
            if not TRIAGE:
                raise
            _triage(reader, exc)
            return None, exc
    RECORD[reader]["read"] += 1
    return result, None


def _named_error(reader, exc, names):
    message = str(exc)
    note(f"{type(exc).__name__}: {message}")
    assert message.strip(), f"{type(exc).__name__} raised with an empty message"
    assert len(message) < 20_000, f"{type(exc).__name__} message is {len(message)} long"
    if names and not any(str(name) in message for name in names):
        if TRIAGE:
            key = (reader, f"unnamed {type(exc).__name__}", "-")
            ESCAPES.setdefault(key, []).append(message[:300])
        else:
            raise AssertionError(
                f"{type(exc).__name__} message names none of {list(names)}: {message}"
            )
    RECORD[reader][f"error:{type(exc).__name__}"] += 1
    if TRIAGE:
        MESSAGES.setdefault((reader, type(exc).__name__), set()).add(message[:400])
    return None, exc


#: Triage mode (``FLUXFIT_FUZZ_TRIAGE=1``): escapes are recorded in `ESCAPES` instead of
#: failing the case, so that one run lists every distinct escape (for fixing readers).
TRIAGE = bool(os.environ.get("FLUXFIT_FUZZ_TRIAGE"))
ESCAPES: dict[tuple, list] = {}
#: Triage mode: distinct messages of the named errors (to review their wording).
MESSAGES: dict[tuple, set] = {}


def _triage(reader, exc):
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if "/fluxfit/" in f.filename] or frames
    last = own[-1]
    key = (reader, type(exc).__name__, f"{Path(last.filename).name}:{last.lineno}")
    RECORD[reader][f"escape:{type(exc).__name__}"] += 1
    ESCAPES.setdefault(key, []).append(str(exc)[:300])


# ------------------------------------------------------------------------------------ FITS
def hdul_bytes(hdul: fits.HDUList) -> bytes:
    """Serialised HDU list (no verification: damaged headers are the point)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul.writeto(buffer, output_verify="ignore")
    return buffer.getvalue()


def _open_bytes(raw: bytes) -> fits.HDUList:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul = fits.open(io.BytesIO(raw), memmap=False, lazy_load_hdus=False)
        for hdu in hdul:
            _ = hdu.data  # load now: the buffer goes away
    return hdul


SPECIAL_FLOATS = (
    math.nan,
    math.inf,
    -math.inf,
    -1.0,
    0.0,
    -1e30,
    1e30,
    1e300,
    -1e300,
    3.5e38,
    1e-310,
    0.5,
    2.0**53 + 1,
)
SPECIAL_INTS = (-1, 0, 1, 2, -(2**15), 2**15 - 1, 2**31 - 1, -(2**31), 2**62, 10**9)
KEYWORD_VALUES = (
    "",
    " ",
    "NONE",
    "none",
    "abc",
    "garbage value",
    "../outside.fits",
    "/etc/passwd",
    "sub/../../x.fits",
    "file.fits{0}",
    "file.fits{-2}",
    "1e5",
    "T",
    "nan",
    "INF",
    -1,
    0,
    1,
    2,
    7,
    10**12,
    -(10**12),
    1.5,
    -1e300,
    1e300,
    1e-300,
    True,
    False,
)
UNITS = (
    "",
    "keV",
    "TeV",
    "MeV",
    "erg",
    "m2",
    "cm2",
    "s",
    "d",
    "deg",
    "rad",
    "count",
    "counts",
    "count/s",
    "cm-2 s-1 TeV-1",
    "ph cm-2 s-1",
    "sr-1",
    "MeV-1 s-1 sr-1",
    "Hz",
    "m",
    "notaunit!",
    "keV keV",
    "10**3 keV",
    "log(keV)",
)
FORMAT_LETTERS = ("E", "D", "J", "I", "K", "B", "L", "10A")

STRUCTURED = (
    "drop_hdu",
    "rename_hdu",
    "swap_hdus",
    "duplicate_hdu",
    "table_to_image",
    "drop_column",
    "rename_column",
    "retype_column",
    "special_values",
    "permute_column",
    "scale_column",
    "set_unit",
    "resize_vector",
    "truncate_rows",
    "duplicate_rows",
    "delete_keyword",
    "set_keyword",
    "image_values",
    "image_shape",
)


def _tables(hdul) -> list[int]:
    return [i for i, hdu in enumerate(hdul) if isinstance(hdu, fits.BinTableHDU)]


def _images(hdul) -> list[int]:
    return [
        i
        for i, hdu in enumerate(hdul)
        if isinstance(hdu, fits.ImageHDU | fits.PrimaryHDU) and hdu.data is not None
    ]


def _column_arrays(hdu) -> list[tuple[fits.Column, object]]:
    out = []
    for column in hdu.columns:
        values = hdu.data[column.name] if hdu.data is not None else None
        out.append((column, values))
    return out


def _is_vla(column) -> bool:
    return "P" in str(column.format).upper() or "Q" in str(column.format).upper()


def _rebuild(hdu, columns: list[fits.Column], nrows=None) -> fits.BinTableHDU:
    header = hdu.header.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        new = fits.BinTableHDU.from_columns(columns, header=header, nrows=nrows or 0)
    return new


def _copy_column(column, array=None, **changes) -> fits.Column:
    kwargs = dict(
        name=column.name,
        format=column.format,
        unit=column.unit,
        dim=column.dim,
        array=array,
    )
    kwargs.update(changes)
    return fits.Column(**kwargs)


def _numeric(values) -> bool:
    return isinstance(values, np.ndarray) and values.dtype.kind in "iufb"


def _repeat_letter(fmt: str) -> tuple[int, str]:
    text = str(fmt).strip().upper()
    digits = ""
    while text and text[0].isdigit():
        digits += text[0]
        text = text[1:]
    return (int(digits) if digits else 1), text


def _cast(values: np.ndarray, letter: str) -> np.ndarray:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if letter == "L":
            return np.asarray(values) != 0
        if letter.endswith("A"):
            return np.asarray(values).astype(str)
        dtype = {"E": np.float32, "D": np.float64, "J": np.int32, "I": np.int16, "K": np.int64}
        dtype.update({"B": np.uint8})
        array = np.asarray(values)
        if dtype[letter] in (np.int32, np.int16, np.int64, np.uint8) and array.dtype.kind == "f":
            array = np.nan_to_num(array, nan=0.0, posinf=0.0, neginf=0.0)
        return array.astype(dtype[letter])


def _mutate_table(data, hdul, index: int, kind: str, keywords: Sequence[str]) -> str:
    hdu = hdul[index]
    pairs = _column_arrays(hdu)
    if not pairs:
        return "no columns"
    names = [c.name for c, _ in pairs]
    position = data.draw(st.integers(0, len(pairs) - 1), label="column")
    column, values = pairs[position]
    nrows = 0 if hdu.data is None else len(hdu.data)
    columns = [c for c, _ in pairs]
    arrays = [v for _, v in pairs]
    what = f"{hdu.name}.{column.name}"

    if kind == "drop_column":
        del columns[position], arrays[position]
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"drop column {what}"
    if kind == "rename_column":
        new = data.draw(
            st.sampled_from([column.name.lower(), column.name + "_X", "X", *names]), label="name"
        )
        columns[position] = _copy_column(column, name=new)
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"rename column {what} -> {new}"
    if kind == "set_unit":
        unit = data.draw(st.sampled_from(UNITS), label="unit")
        arrays_copy = list(arrays)
        cols = [
            _copy_column(c, a, unit=(unit or None) if c is column else c.unit)
            for c, a in zip(columns, arrays_copy)
        ]
        hdul[index] = _rebuild(hdu, cols, nrows)
        return f"unit of {what} -> {unit!r}"
    if kind == "truncate_rows":
        keep = data.draw(st.integers(0, max(nrows - 1, 0)), label="rows kept")
        cols = [
            _copy_column(c, a[:keep] if a is not None else None) for c, a in zip(columns, arrays)
        ]
        hdul[index] = _rebuild(hdu, cols, keep)
        return f"{hdu.name}: keep {keep} of {nrows} rows"
    if kind == "duplicate_rows":
        if nrows == 0:
            return "no rows"
        row = data.draw(st.integers(0, nrows - 1), label="row")
        cols = []
        for c, a in zip(columns, arrays):
            if _is_vla(c):
                items = list(a) + [a[row]]
                new = np.empty(len(items), dtype=object)
                new[:] = [np.asarray(x) for x in items]
                cols.append(_copy_column(c, new))
            else:
                cols.append(
                    _copy_column(c, np.concatenate([np.asarray(a), np.asarray(a)[row : row + 1]]))
                )
        hdul[index] = _rebuild(hdu, cols, nrows + 1)
        return f"{hdu.name}: duplicate row {row}"
    if values is None:
        return "no data"
    if _is_vla(column):
        rows = [np.array(r) for r in values]
        if not rows:
            return "empty VLA"
        row = data.draw(st.integers(0, len(rows) - 1), label="row")
        action = data.draw(st.sampled_from(["special", "empty", "extend", "negative"]), label="vla")
        target = rows[row]
        if action == "empty":
            target = target[:0]
        elif action == "extend":
            target = np.concatenate(
                [target, target[-1:] if target.size else np.ones(1, target.dtype)]
            )
        elif action == "negative":
            target = -target
        elif target.size:
            pool = SPECIAL_FLOATS if target.dtype.kind == "f" else SPECIAL_INTS
            value = data.draw(st.sampled_from(pool), label="value")
            target = target.copy()
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if target.dtype.kind in "iu":
                    info = np.iinfo(target.dtype)
                    value = int(min(max(value, info.min), info.max))
                target[data.draw(st.integers(0, target.size - 1), label="element")] = value
        rows[row] = target.astype(np.asarray(values[row]).dtype)
        new = np.empty(len(rows), dtype=object)
        new[:] = rows
        arrays[position] = new
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"{what}: VLA row {row} {action}"
    values = np.array(values)
    if kind == "retype_column":
        repeat, letter = _repeat_letter(column.format)
        new_letter = data.draw(st.sampled_from(FORMAT_LETTERS), label="format")
        if values.dtype.kind in "SU" or (new_letter.endswith("A") and values.ndim > 1):
            return "skip retype"
        new_values = _cast(values, new_letter)
        fmt = (
            new_letter
            if new_letter.endswith("A")
            else f"{repeat if repeat > 1 else ''}{new_letter}"
        )
        arrays[position] = new_values
        columns[position] = _copy_column(column, new_values, format=fmt)
        cols = [
            columns[position] if i == position else _copy_column(c, a)
            for i, (c, a) in enumerate(zip(columns, arrays))
        ]
        hdul[index] = _rebuild(hdu, cols, nrows)
        return f"{what}: format {column.format} -> {fmt}"
    if not _numeric(values) or values.size == 0:
        return "skip non-numeric"
    if kind == "special_values":
        pool = SPECIAL_FLOATS if values.dtype.kind == "f" else SPECIAL_INTS
        value = data.draw(st.sampled_from(pool), label="value")
        where_ = data.draw(st.sampled_from(["all", "first", "last", "one"]), label="where")
        flat = values.reshape(values.shape[0], -1) if values.ndim > 1 else values
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if values.dtype.kind in "iu":
                info = np.iinfo(values.dtype)
                value = int(min(max(value, info.min), info.max))
            elif values.dtype.kind == "b":
                value = bool(value)
            if where_ == "all":
                flat[...] = value
            elif where_ == "first":
                flat[0] = value
            elif where_ == "last":
                flat[-1] = value
            else:
                flat[data.draw(st.integers(0, len(flat) - 1), label="row")] = value
        arrays[position] = values
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"{what}: {where_} = {value!r}"
    if kind == "permute_column":
        how = data.draw(st.sampled_from(["reverse", "roll", "swap", "sort_desc"]), label="perm")
        if how == "reverse":
            values = values[::-1].copy()
        elif how == "roll":
            values = np.roll(values, 1, axis=0)
        elif how == "sort_desc":
            values = -np.sort(-values, axis=0) if values.dtype.kind != "b" else values
        elif len(values) > 1:
            values = values.copy()
            values[[0, 1]] = values[[1, 0]]
        if values.ndim > 1 and how == "reverse":
            values = values[..., ::-1].copy()
        arrays[position] = values
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"{what}: {how}"
    if kind == "scale_column":
        factor = data.draw(st.sampled_from([1.5, 0.5, -1.0, 0.0, 1e10, 1.000001]), label="factor")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = (values * factor).astype(values.dtype)
        arrays[position] = values
        hdul[index] = _rebuild(hdu, [_copy_column(c, a) for c, a in zip(columns, arrays)], nrows)
        return f"{what}: x {factor}"
    if kind == "resize_vector":
        repeat, letter = _repeat_letter(column.format)
        if letter.endswith("A"):
            return "skip resize"
        size = data.draw(st.integers(0, max(repeat, 1) + 2), label="size")
        flat = values.reshape(nrows, -1) if nrows else values.reshape(0, max(repeat, 1))
        if size <= flat.shape[1]:
            new = flat[:, :size]
        else:
            pad = np.zeros((flat.shape[0], size - flat.shape[1]), dtype=flat.dtype)
            new = np.concatenate([flat, pad], axis=1)
        if size == 0:
            return "skip zero-width"
        new_values = new[:, 0] if size == 1 else new
        arrays[position] = new_values
        columns[position] = fits.Column(
            name=column.name,
            format=f"{size if size > 1 else ''}{letter}",
            unit=column.unit,
            array=new_values,
        )
        cols = [
            columns[position] if i == position else _copy_column(c, a)
            for i, (c, a) in enumerate(zip(columns, arrays))
        ]
        hdul[index] = _rebuild(hdu, cols, nrows)
        return f"{what}: vector length {repeat} -> {size}"
    return "nothing"


def _set_keyword(hdu, key: str, value) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdu.header[key] = value
        return True
    except (ValueError, TypeError, KeyError):
        return False


def mutate_fits(data, raw: bytes, keywords: Sequence[str] = (), max_mutations: int = 3) -> bytes:
    """Apply 0..``max_mutations`` structured mutations to the FITS file ``raw``.

    ``keywords`` are header keywords the reader cares about (set or deleted more often).
    """
    count = data.draw(st.integers(0, max_mutations), label="n mutations")
    for _ in range(count):
        try:
            hdul = _open_bytes(raw)
        except Exception:  # the previous mutation made a file astropy cannot reopen: stop
            return raw
        kind = data.draw(st.sampled_from(STRUCTURED), label="mutation")
        description = "skipped"
        tables, images = _tables(hdul), _images(hdul)
        try:
            if (
                kind in ("drop_hdu", "rename_hdu", "duplicate_hdu", "table_to_image")
                and len(hdul) > 1
            ):
                index = data.draw(st.integers(1, len(hdul) - 1), label="hdu")
                if kind == "drop_hdu":
                    description = f"drop HDU {hdul[index].name}"
                    del hdul[index]
                elif kind == "rename_hdu":
                    new = data.draw(st.sampled_from(["XYZ", "", "SPECTRUM", "EBOUNDS", "MATRIX"]))
                    description = f"rename HDU {hdul[index].name} -> {new!r}"
                    hdul[index].name = new
                elif kind == "duplicate_hdu":
                    description = f"duplicate HDU {hdul[index].name}"
                    hdul.append(hdul[index].copy())
                else:
                    description = f"HDU {hdul[index].name} -> empty image"
                    hdul[index] = fits.ImageHDU(name=hdul[index].name)
            elif kind == "swap_hdus" and len(hdul) > 2:
                a = data.draw(st.integers(1, len(hdul) - 1), label="hdu a")
                b = data.draw(st.integers(1, len(hdul) - 1), label="hdu b")
                first, second = hdul[a], hdul[b]
                hdul[a], hdul[b] = second, first
                description = f"swap HDUs {a} and {b}"
            elif kind in ("delete_keyword", "set_keyword"):
                index = data.draw(st.integers(0, len(hdul) - 1), label="hdu")
                hdu = hdul[index]
                existing = [
                    k
                    for k in hdu.header
                    if k
                    and k not in ("SIMPLE", "XTENSION", "BITPIX", "PCOUNT", "GCOUNT", "END")
                    and not k.startswith(("NAXIS", "TFORM", "TTYPE", "TFIELDS"))
                ]
                candidates = sorted(set(existing) | set(keywords))
                if candidates:
                    key = data.draw(st.sampled_from(candidates), label="keyword")
                    if kind == "delete_keyword":
                        if key in hdu.header:
                            del hdu.header[key]
                        description = f"{hdu.name}: delete {key}"
                    else:
                        value = data.draw(st.sampled_from(KEYWORD_VALUES), label="value")
                        if _set_keyword(hdu, key, value):
                            description = f"{hdu.name}: {key} = {value!r}"
            elif kind in ("image_values", "image_shape") and images:
                index = data.draw(st.sampled_from(images), label="image")
                hdu = hdul[index]
                array = np.array(hdu.data)
                if kind == "image_values" and array.size:
                    pool = SPECIAL_FLOATS if array.dtype.kind == "f" else SPECIAL_INTS
                    value = data.draw(st.sampled_from(pool), label="value")
                    with np.errstate(all="ignore"), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if array.dtype.kind in "iu":
                            info = np.iinfo(array.dtype)
                            value = int(min(max(value, info.min), info.max))
                        flat = array.reshape(-1)
                        if data.draw(st.booleans(), label="all"):
                            flat[...] = value
                        else:
                            flat[data.draw(st.integers(0, flat.size - 1))] = value
                    hdu.data = array
                    description = f"{hdu.name}: image value {value!r}"
                elif kind == "image_shape":
                    how = data.draw(st.sampled_from(["drop_axis", "crop", "add_axis", "float32"]))
                    if how == "drop_axis" and array.ndim > 1:
                        array = array[0]
                    elif how == "crop" and array.shape[-1] > 1:
                        array = array[..., :-1]
                    elif how == "add_axis":
                        array = array[np.newaxis]
                    elif how == "float32":
                        array = array.astype(np.float32)
                    header = hdu.header.copy()
                    hdu.data = np.ascontiguousarray(array)
                    for key in header:
                        if key and not key.startswith("NAXIS") and key not in hdu.header:
                            hdu.header[key] = header[key]
                    description = f"{hdu.name}: image {how} -> shape {array.shape}"
            elif tables:
                index = data.draw(st.sampled_from(tables), label="table")
                description = _mutate_table(data, hdul, index, kind, keywords)
            raw_new = hdul_bytes(hdul)
        except (ValueError, TypeError, KeyError, IndexError, OSError) as exc:
            note(f"mutation {kind} not applicable ({type(exc).__name__}: {exc})")
            continue
        note(f"mutation: {description}")
        raw = raw_new
    return raw


def mutate_bytes(data, raw: bytes, allow_gzip: bool = True) -> bytes:
    """Byte-level damage: truncation, overwritten bytes, gzip (possibly truncated), garbage."""
    kind = data.draw(
        st.sampled_from(
            ["none"] * 6
            + ["truncate", "overwrite", "garbage", "empty"]
            + (["gzip"] if allow_gzip else [])
        ),
        label="byte mutation",
    )
    if kind == "none":
        return raw
    if kind == "truncate":
        points = sorted({0, 1, 80, 2880, len(raw) // 2, max(len(raw) - 2880, 0), len(raw) - 1})
        choice = data.draw(st.sampled_from(points + ["random"]), label="cut")
        cut = data.draw(st.integers(0, max(len(raw) - 1, 0))) if choice == "random" else choice
        note(f"truncate at {cut} of {len(raw)} bytes")
        return raw[:cut]
    if kind == "overwrite":
        start = data.draw(st.integers(0, max(len(raw) - 1, 0)), label="offset")
        length = data.draw(st.integers(1, 200), label="length")
        fill = data.draw(st.sampled_from([b"\x00", b" ", b"\xff", b"9", b"=", b"'"]), label="fill")
        note(f"overwrite {length} bytes at {start} with {fill!r}")
        return raw[:start] + fill * length + raw[start + length :]
    if kind == "garbage":
        note("garbage text")
        return b"this is not a FITS file\n" * 10
    if kind == "empty":
        note("empty file")
        return b""
    compressed = gzip.compress(raw, mtime=0)
    if data.draw(st.booleans(), label="truncate gzip"):
        cut = data.draw(st.integers(0, len(compressed) - 1), label="gzip cut")
        note(f"gzip truncated at {cut}")
        return compressed[:cut]
    note("gzip")
    return compressed


def mutate_text(data, text: str, extra_lines: Sequence[str] = ()) -> str:
    """Line-level damage to a text file (ECSV, YAML): drop, duplicate, cut, insert lines."""
    lines = text.splitlines(keepends=True)
    count = data.draw(st.integers(0, 3), label="n text mutations")
    for _ in range(count):
        kind = data.draw(
            st.sampled_from(["drop", "duplicate", "truncate", "insert", "replace_char", "swap"]),
            label="text mutation",
        )
        if not lines:
            break
        index = data.draw(st.integers(0, len(lines) - 1), label="line")
        if kind == "drop":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "truncate":
            line = lines[index]
            lines[index] = line[: data.draw(st.integers(0, len(line)), label="cut")]
            lines = lines[: index + 1]
        elif kind == "insert":
            pool = list(extra_lines) or ["garbage\n"]
            lines.insert(index, data.draw(st.sampled_from(pool), label="inserted"))
        elif kind == "replace_char":
            line = lines[index]
            if line:
                pos = data.draw(st.integers(0, len(line) - 1), label="char")
                char = data.draw(st.sampled_from(list(" :-[]{}#'\"!&*|>%@`,?\t0nx")), label="with")
                lines[index] = line[:pos] + char + line[pos + 1 :]
        elif kind == "swap" and len(lines) > 1:
            other = data.draw(st.integers(0, len(lines) - 1), label="other line")
            lines[index], lines[other] = lines[other], lines[index]
        note(f"text mutation {kind} at line {index}")
    return "".join(lines)


def write_case(folder: Path, name: str, raw: bytes | str) -> Path:
    """Write one case file (bytes or text) and return its path."""
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(raw, str):
        path.write_text(raw)
    else:
        path.write_bytes(raw)
    return path


# ----------------------------------------------------------------- parsed YAML documents
def document_paths(node, prefix=()):
    """Every (path, value) in a nested dict/list document (a parsed YAML file)."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from document_paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from document_paths(value, (*prefix, index))


def document_parent(document, path):
    """The container holding the item at ``path`` of a nested dict/list document."""
    node = document
    for key in path[:-1]:
        node = node[key]
    return node
