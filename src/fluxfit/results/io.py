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
SAMPLES       (Bayesian) one row per sample: ``VALUES`` (n float64), ``WEIGHT``,
              ``LOG_LIKE``, ``LOG_PRIOR``
STATISTICS    per-dataset statistics (the `AnalysisResults.statistics` table), if any
MEASURES      ``NAME``, ``VALUE`` (float64): information criteria and evidence
META          one row, column ``JSON``: facts about the run (sampler, settings, versions)
============  ================================================================================

Floats are stored as float64 and the YAML with Python's shortest round-trip repr, so a
write/read cycle reproduces every number bit for bit.
"""

from __future__ import annotations

import datetime
import json
import platform
from pathlib import Path

import astropy
import numpy as np
from astropy.io import fits
from astropy.table import Table

from fluxfit.errors import FormatError, MissingFileError, OverwriteError

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

    path = Path(path)
    if path.exists() and not overwrite:
        raise OverwriteError(f"{path} exists; pass overwrite=True to replace it")
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


def _hdu(hdul, name: str, path):
    if name not in hdul:
        raise FormatError(f"{path}: no {name} extension; not a fluxfit results file")
    return hdul[name]


def _column(hdu, name: str, path):
    if name not in hdu.columns.names:
        raise FormatError(f"{path}: HDU {hdu.name} has no column {name!r}")
    return hdu.data[name]


def _text(hdul, extname: str, column: str, path) -> str:
    value = _column(_hdu(hdul, extname, path), column, path)[0]
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def read_results(path):
    """Read `AnalysisResults` from a file written by `write_results`."""
    from fluxfit.models import Models
    from fluxfit.results.analysis_results import AnalysisResults

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"results file {str(path)!r} does not exist")
    try:
        hdul = fits.open(path, memmap=False)
    except OSError as exc:
        raise FormatError(f"{path}: not a FITS file ({exc})") from None
    with hdul:
        header = hdul[0].header
        if header.get("FFRESULT") != "AnalysisResults":
            raise FormatError(f"{path}: primary header has no FFRESULT = 'AnalysisResults'")
        version = header.get("FFFORMAT", 0)
        if version > FORMAT_VERSION:
            raise FormatError(
                f"{path}: layout version {version} is newer than this fluxfit reads "
                f"({FORMAT_VERSION}); update fluxfit"
            )
        analysis_type = header.get("ANALYSIS")
        models = Models.from_yaml(_text(hdul, "MODELS", "YAML", path), where=f"{path}[MODELS]")
        params = _hdu(hdul, "PARAMETERS", path)
        names = [str(n).strip() for n in _column(params, "NAME", path)]
        best_fit = np.array(_column(params, "BEST_FIT", path), dtype=float)
        covariance = None
        if "COVARIANCE" in hdul:
            covariance = np.array(hdul["COVARIANCE"].data, dtype=float)
        kwargs = {}
        if "SAMPLES" in hdul:
            samples = _hdu(hdul, "SAMPLES", path)
            values = np.array(_column(samples, "VALUES", path), dtype=float)
            kwargs["samples"] = values.reshape(values.shape[0], len(names))
            kwargs["weights"] = np.array(_column(samples, "WEIGHT", path), dtype=float)
            for key, col in (("log_likelihood", "LOG_LIKE"), ("log_prior", "LOG_PRIOR")):
                data = np.array(_column(samples, col, path), dtype=float)
                kwargs[key] = None if np.all(np.isnan(data)) else data
        statistics = None
        if "STATISTICS" in hdul:
            statistics = Table.read(hdul["STATISTICS"])
            statistics.meta.clear()
            for display, stored in _FITS_COLUMNS.items():
                if stored in statistics.colnames:
                    statistics.rename_column(stored, display)
            for name in statistics.colnames:
                if statistics[name].dtype.kind == "S":
                    statistics[name] = [str(v) for v in statistics[name]]
                elif statistics[name].dtype.kind == "f":
                    statistics[name].format = ".6f"
        measures_hdu = _hdu(hdul, "MEASURES", path)
        n_measures = measures_hdu.header.get("NMEASURE", len(measures_hdu.data))
        measures = {
            str(n).strip(): float(v)
            for n, v in zip(
                _column(measures_hdu, "NAME", path)[:n_measures],
                _column(measures_hdu, "VALUE", path)[:n_measures],
            )
        }
        try:
            meta = json.loads(_text(hdul, "META", "JSON", path))
        except json.JSONDecodeError as exc:
            raise FormatError(f"{path}[META]: malformed JSON ({exc})") from None
    return AnalysisResults(
        models,
        names,
        analysis_type,
        best_fit=best_fit,
        covariance=covariance,
        statistics=statistics,
        measures=measures,
        meta=meta,
        **kwargs,
    )
