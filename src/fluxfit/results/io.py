"""FITS files of `AnalysisResults`: lossless, self-describing, readable without the data.

Layout (EXTNAME, content):

============  ================================================================================
PRIMARY       header: ``FFRESULT = 'AnalysisResults'``, ``FFFORMAT`` (layout version),
              ``ANALYSIS`` ("MLE" / "Bayesian"), ``CREATOR``, ``DATE``, and the versions of
              fluxfit, Python, numpy and astropy (``V_FLUXFT``, ``V_PYTHON``, ...)
MODELS        one row, column ``YAML``: the models at the best fit / MAP
              (`Models.to_yaml(full_output=True)`: values, errors, bounds, priors, links)
PARAMETERS    one row per free parameter: ``NAME`` (label), ``UNIT``, ``BEST_FIT`` (float64)
COVARIANCE    (MLE) image (n, n) of the free parameters' covariance, in their units
MODELS_COV    image (m, m): the covariance of all m parameters of the models
              (``models.covariance``, which the YAML of MODELS does not hold)
SAMPLES       (Bayesian) one row per sample: ``VALUES`` (n float64), ``WEIGHT``,
              ``LOG_LIKE``, ``LOG_PRIOR``; header ``HASLOGL`` / ``HASLOGP``: whether the
              log-likelihoods / log-priors were given (else the columns hold NaN)
STATISTICS    per-dataset statistics (the `AnalysisResults.statistics` table), if any
MEASURES      ``NAME``, ``VALUE`` (float64): information criteria and evidence
META          one row, column ``JSON``: facts about the run (sampler, settings, versions)
============  ================================================================================

Floats are stored as float64 and the YAML with Python's shortest round-trip repr, so a
write/read cycle reproduces every number bit for bit.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import platform
import warnings
import zlib
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.utils.exceptions import AstropyUserWarning

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.errors import (
    FluxfitError,
    FormatError,
    MissingFileError,
    short_repr,
)

__all__ = ["write_results", "read_results", "FORMAT_VERSION"]

FORMAT_VERSION = 1
#: statistics columns whose display names are not FITS-friendly
_FITS_COLUMNS = {"-log(likelihood)": "MINUS_LOG_LIKE", "-log(posterior)": "MINUS_LOG_POSTERIOR"}


def _json_default(value):
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.bool_):
        return bool(value)
    return str(value)


def _string_table(column: str, text: str, extname: str) -> fits.BinTableHDU:
    # model YAML (safe_dump escapes non-ASCII) and JSON (ensure_ascii) are plain ASCII
    data = np.array([text.encode("ascii")])
    col = fits.Column(name=column, format=f"{max(len(data[0]), 1)}A", array=data)
    return fits.BinTableHDU.from_columns([col], name=extname)


def write_results(results, path, overwrite: bool = False) -> None:
    """Write `AnalysisResults` to ``path`` (refuses to replace a file unless ``overwrite``)."""
    from fluxfit import __version__

    path = check_output(path, overwrite, "results file")
    primary = fits.PrimaryHDU()
    header = primary.header
    header["FFRESULT"] = ("AnalysisResults", "fluxfit analysis results")
    header["FFFORMAT"] = (FORMAT_VERSION, "layout version")
    header["ANALYSIS"] = (results.analysis_type, "MLE or Bayesian")
    header["CREATOR"] = f"fluxfit {__version__}"
    header["DATE"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    header["V_FLUXFT"] = (__version__, "fluxfit version")
    header["V_PYTHON"] = (platform.python_version(), "Python version")
    header["V_NUMPY"] = (np.__version__, "numpy version")
    header["V_ASTROP"] = (astropy.__version__, "astropy version")
    hdus = [primary, _string_table("YAML", results.models.to_yaml(full_output=True), "MODELS")]

    names = np.array([n.encode() for n in results.parameter_names])
    units = np.array([u.encode() or b" " for u in results.units])
    width = max([len(n) for n in names] + [1])
    uwidth = max([len(u) for u in units] + [1])
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("NAME", f"{width}A", array=names),
                fits.Column("UNIT", f"{uwidth}A", array=units),
                fits.Column("BEST_FIT", "D", array=results.best_fit),
            ],
            name="PARAMETERS",
        )
    )
    if results._covariance is not None:
        hdus.append(fits.ImageHDU(np.asarray(results._covariance, dtype=">f8"), name="COVARIANCE"))
    models_cov = np.asarray(results.models.covariance, dtype=">f8")
    if models_cov.size:
        hdus.append(fits.ImageHDU(models_cov, name="MODELS_COV"))
    if results.samples is not None:
        k, n = results.samples.shape
        nan = np.full(k, np.nan)
        columns = [
            fits.Column("VALUES", f"{n}D", array=results.samples),
            fits.Column("WEIGHT", "D", array=results.weights),
            fits.Column(
                "LOG_LIKE",
                "D",
                array=nan if results.log_likelihood is None else results.log_likelihood,
            ),
            fits.Column(
                "LOG_PRIOR", "D", array=nan if results.log_prior is None else results.log_prior
            ),
        ]
        hdus.append(fits.BinTableHDU.from_columns(columns, name="SAMPLES"))
        hdus[-1].header["HASLOGL"] = (results.log_likelihood is not None, "LOG_LIKE given")
        hdus[-1].header["HASLOGP"] = (results.log_prior is not None, "LOG_PRIOR given")
    if results.statistics is not None:
        table = Table(results.statistics)
        table.rename_columns(
            [c for c in _FITS_COLUMNS if c in table.colnames],
            [_FITS_COLUMNS[c] for c in _FITS_COLUMNS if c in table.colnames],
        )
        hdu = fits.table_to_hdu(table)
        hdu.name = "STATISTICS"
        hdus.append(hdu)
    measure_names = np.array([str(k).encode() for k in results.measures] or [b" "])
    measure_values = np.array([float(v) for v in results.measures.values()] or [np.nan])
    hdus.append(
        fits.BinTableHDU.from_columns(
            [
                fits.Column("NAME", f"{max(len(m) for m in measure_names)}A", array=measure_names),
                fits.Column("VALUE", "D", array=measure_values),
            ],
            name="MEASURES",
        )
    )
    hdus[-1].header["NMEASURE"] = len(results.measures)
    hdus.append(_string_table("JSON", json.dumps(results.meta, default=_json_default), "META"))
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)


#: What astropy and numpy raise on damaged content (turned into `FormatError`).
_READ_ERRORS = (
    OSError,
    EOFError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    zlib.error,
    AstropyUserWarning,
    fits.VerifyError,
)


@contextlib.contextmanager
def _reading(path, where: str):
    """Name the file and HDU in every error raised while reading one part of a results file."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*truncated", category=AstropyUserWarning)
            yield
    except FluxfitError as exc:
        if str(path) in str(exc):
            raise
        raise type(exc)(f"{path}[{where}]: {exc}") from exc
    except _READ_ERRORS as exc:
        raise FormatError(
            f"{path}[{where}]: damaged or not written by fluxfit ({type(exc).__name__}: "
            f"{short_repr(str(exc))})"
        ) from exc


def _hdu(hdul, name: str, path, table: bool = True):
    if name not in hdul:
        names = ", ".join(repr(h.name) for h in hdul)
        raise FormatError(
            f"{path}: no {name} extension (HDUs: {names}); not a fluxfit results file"
        )
    hdu = hdul[name]
    expected = fits.BinTableHDU if table else fits.ImageHDU
    if not isinstance(hdu, expected):
        raise FormatError(
            f"{path}[{name}]: expected a {expected.__name__}, got {type(hdu).__name__}"
        )
    if table:
        hdu.columns.names  # noqa: B018 - parses TTYPEn/TFORMn now (damage raises here)
    return hdu


def _column(hdu, name: str, path, nrows=None):
    if name not in hdu.columns.names:
        raise FormatError(f"{path}[{hdu.name}]: no column {name!r} (columns: {hdu.columns.names})")
    data = hdu.data
    if data is None or (nrows is not None and len(data) != nrows):
        found = 0 if data is None else len(data)
        raise FormatError(
            f"{path}[{hdu.name}]: {found} row(s), expected {nrows if nrows is not None else '>0'}"
        )
    return data[name]


def _float_column(hdu, name: str, path, nrows=None, width=None) -> np.ndarray:
    """A float64 column (exact copy of what was written); shape (nrows,) or (nrows, width)."""
    values = _column(hdu, name, path, nrows)
    if values.dtype.kind not in "fiu":
        raise FormatError(
            f"{path}[{hdu.name}]: column {name!r} has dtype {values.dtype}, expected float64"
        )
    array = np.array(values, dtype=float)
    rows = len(array)
    if width is None:
        expected = (rows,)
    else:
        expected = (rows, width)
        if array.ndim == 1 and width == 1:
            array = array.reshape(rows, 1)
    if array.shape != expected:
        raise FormatError(
            f"{path}[{hdu.name}]: column {name!r} has shape {array.shape}, expected {expected}"
        )
    return array


def _text(hdul, extname: str, column: str, path) -> str:
    values = _column(_hdu(hdul, extname, path), column, path, nrows=1)
    value = values[0]
    if isinstance(value, bytes):
        try:
            return value.decode("ascii")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"{path}[{extname}]: column {column!r} is not ASCII ({exc})"
            ) from None
    if not isinstance(value, str):
        raise FormatError(
            f"{path}[{extname}]: column {column!r} holds {type(value).__name__}, expected text"
        )
    return value


def read_results(path):
    """Read `AnalysisResults` from a file written by `write_results`.

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        The file is not a (readable) fluxfit results file; the message names the file, the
        HDU and the column or keyword at fault.
    """
    from fluxfit.results.analysis_results import AnalysisResults

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"results file {str(path)!r} does not exist")
    with _reading(path, "open"):
        check_fits_sizes(path)  # NAXIS out of range, data beyond the file's end
        hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
    with hdul:
        with _reading(path, "PRIMARY"):
            kwargs = _read_header(hdul, path)
        with _reading(path, "MODELS"):
            kwargs.update(_read_models(hdul, path))
        n = len(kwargs["parameter_names"])
        with _reading(path, "COVARIANCE"):
            if "COVARIANCE" in hdul:
                kwargs["covariance"] = _read_covariance(hdul, path, n)
        with _reading(path, "MODELS_COV"):
            if "MODELS_COV" in hdul:
                models = kwargs["models"]
                errors = [par.error for par in models.parameters]  # as written in the YAML
                models.covariance = _read_covariance(
                    hdul, path, len(models.parameters), "MODELS_COV"
                )
                for par, error in zip(models.parameters, errors):
                    par.error = error
        with _reading(path, "SAMPLES"):
            if "SAMPLES" in hdul:
                kwargs.update(_read_samples(hdul, path, n))
        with _reading(path, "STATISTICS"):
            if "STATISTICS" in hdul:
                kwargs["statistics"] = _read_statistics(hdul, path)
        with _reading(path, "MEASURES"):
            kwargs["measures"] = _read_measures(hdul, path)
        with _reading(path, "META"):
            try:
                meta = json.loads(_text(hdul, "META", "JSON", path))
            except json.JSONDecodeError as exc:
                raise FormatError(f"{path}[META]: malformed JSON ({exc})") from None
            except RecursionError:
                raise FormatError(f"{path}[META]: JSON nested too deeply") from None
            if not isinstance(meta, dict):
                raise FormatError(
                    f"{path}[META]: JSON holds a {type(meta).__name__}, expected an object"
                )
            kwargs["meta"] = meta
    with _reading(path, "results"):
        return AnalysisResults(**kwargs)


def _read_header(hdul, path) -> dict:
    header = hdul[0].header
    if header.get("FFRESULT") != "AnalysisResults":
        raise FormatError(f"{path}: primary header has no FFRESULT = 'AnalysisResults'")
    version = header.get("FFFORMAT", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise FormatError(f"{path}[PRIMARY]: FFFORMAT = {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise FormatError(
            f"{path}: layout version {version} is newer than this fluxfit reads "
            f"({FORMAT_VERSION}); update fluxfit"
        )
    analysis_type = header.get("ANALYSIS")
    if analysis_type not in ("MLE", "Bayesian"):
        raise FormatError(
            f"{path}[PRIMARY]: ANALYSIS = {short_repr(analysis_type)}; expected 'MLE' or 'Bayesian'"
        )
    return {"analysis_type": analysis_type}


def _read_models(hdul, path) -> dict:
    from fluxfit.models import Models

    models = Models.from_yaml(_text(hdul, "MODELS", "YAML", path), where=f"{path}[MODELS]")
    params = _hdu(hdul, "PARAMETERS", path)
    names_column = _column(params, "NAME", path)
    if names_column.dtype.kind not in "SU":
        raise FormatError(f"{path}[PARAMETERS]: column 'NAME' is not text ({names_column.dtype})")
    names = [n.decode("ascii", "replace") if isinstance(n, bytes) else str(n) for n in names_column]
    names = [n.strip() for n in names]
    best_fit = _float_column(params, "BEST_FIT", path, nrows=len(names))
    return {"models": models, "parameter_names": names, "best_fit": best_fit}


def _read_covariance(hdul, path, n: int, extname: str = "COVARIANCE") -> np.ndarray:
    data = _hdu(hdul, extname, path, table=False).data
    shape = None if data is None else data.shape
    if data is None or shape != (n, n) or data.dtype.kind != "f":
        what = "free parameter" if extname == "COVARIANCE" else "parameter of the models"
        raise FormatError(
            f"{path}[{extname}]: image of shape {shape} and dtype "
            f"{None if data is None else data.dtype}, expected ({n}, {n}) float64 "
            f"(one row and column per {what})"
        )
    return np.array(data, dtype=float)


def _read_samples(hdul, path, n: int) -> dict:
    hdu = _hdu(hdul, "SAMPLES", path)
    values = _float_column(hdu, "VALUES", path, width=n)
    k = values.shape[0]
    kwargs = {"samples": values, "weights": _float_column(hdu, "WEIGHT", path, nrows=k)}
    weights = kwargs["weights"]
    if k == 0 or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
        raise FormatError(
            f"{path}[SAMPLES]: {k} sample(s) with weights {short_repr(weights.tolist())}; "
            "expected at least one sample and finite, non-negative weights with a positive sum"
        )
    for key, col, flag in (
        ("log_likelihood", "LOG_LIKE", "HASLOGL"),
        ("log_prior", "LOG_PRIOR", "HASLOGP"),
    ):
        data = _float_column(hdu, col, path, nrows=k)
        given = hdu.header.get(flag)
        if given is None:  # files written before the flags: all NaN meant "not given"
            given = not np.all(np.isnan(data))
        elif not isinstance(given, bool):
            raise FormatError(f"{path}[SAMPLES]: {flag} = {short_repr(given)} is not T or F")
        kwargs[key] = data if given else None
    return kwargs


def _read_statistics(hdul, path) -> Table:
    statistics = Table.read(_hdu(hdul, "STATISTICS", path), format="fits")
    statistics.meta.clear()
    for display, stored in _FITS_COLUMNS.items():
        if stored in statistics.colnames:
            statistics.rename_column(stored, display)
    for name in statistics.colnames:
        column = statistics[name]
        if column.dtype.kind == "S":
            statistics[name] = [v.decode("ascii", "replace") for v in column]
        elif column.dtype.kind in "biuf":
            # FITS is big-endian: back to the native byte order the table was written from
            statistics[name] = np.asarray(column).astype(column.dtype.newbyteorder("="))
            if column.dtype.kind == "f":
                statistics[name].format = ".6f"
    return statistics


def _read_measures(hdul, path) -> dict:
    hdu = _hdu(hdul, "MEASURES", path)
    rows = 0 if hdu.data is None else len(hdu.data)
    n_measures = hdu.header.get("NMEASURE", rows)
    if (
        isinstance(n_measures, bool)
        or not isinstance(n_measures, int)
        or not 0 <= n_measures <= rows
    ):
        raise FormatError(
            f"{path}[MEASURES]: NMEASURE = {short_repr(n_measures)}; expected an integer "
            f"from 0 to {rows} (the rows of the table)"
        )
    names = _column(hdu, "NAME", path, nrows=rows)
    values = _float_column(hdu, "VALUE", path, nrows=rows)
    if names.dtype.kind not in "SU":
        raise FormatError(f"{path}[MEASURES]: column 'NAME' is not text ({names.dtype})")
    measures = {}
    for name, value in zip(names[:n_measures], values[:n_measures]):
        key = (name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)).strip()
        if key in measures:
            raise FormatError(f"{path}[MEASURES]: measure {key!r} appears twice")
        measures[key] = float(value)
    return measures
