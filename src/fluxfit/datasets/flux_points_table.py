"""Table and file I/O of `~fluxfit.datasets.flux_points.FluxPoints` (GADF SED format).

Three table layouts, as Gammapy reads and writes them:

``gadf-sed``
    One row per energy bin: ``e_ref``, ``e_min``, ``e_max`` (``e_ref`` alone for a
    differential SED without bin edges), then the SED columns (``dnde``,
    ``dnde_err``, ``dnde_errp``, ``dnde_errn``, ``dnde_ul``...; ``ref_dnde``,
    ``ref_flux``, ``ref_eflux``, ``norm``, ``norm_err``... for "likelihood"), then
    ``ts``, ``sqrt_ts``, ``npred``, ``npred_excess``, ``stat``, ``stat_null``,
    ``stat_scan``, ``is_ul``, ``counts``, ``success``, ``norm_scan``, and fluxfit's
    ``message`` (text: why a bin's fit failed, or a note) when any bin has one. ``npred``,
    ``npred_excess`` and ``counts`` have one value per dataset, ``stat_scan`` and
    ``norm_scan`` one per scanned norm. Header keys: ``SED_TYPE``, ``UL_CONF``
    (confidence of the upper limits, from which ``n_sigma_ul`` is derived), and
    ``SQRT_TS_THRESHOLD_UL`` when set in the metadata (fluxfit's; Gammapy ignores it).
``lightcurve``
    One row per time bin: ``time_min``, ``time_max`` (MJD, reference ``MJDREFI``
    + ``MJDREFF``, default 0, ``TIMESYS`` default "utc", ``TIMEUNIT`` "d"), then the
    ``gadf-sed`` columns with one value per energy bin.
``profile``
    One row per projected-distance bin: ``x_min``, ``x_max``, ``x_ref`` (written as
    the mid-point, as Gammapy), then the ``gadf-sed`` columns per energy bin.

Upper limits: ``is_ul`` is read when present and always written when upper limits
exist (``*_ul`` column); the values of an upper-limit bin (e.g. HAWC's last point,
``dnde = NaN``) are kept as they are.

FITS files hold the table in HDU ``FLUXPOINTS`` (when reading: that HDU, else the
first table HDU) and an optional ``GTI`` HDU; any other suffix than ``.fits``,
``.fit``, ``.fts`` (optionally ``.gz``) is ECSV. NaN values are not masked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time
from astropy.utils.exceptions import AstropyUserWarning
from scipy import stats

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.datasets.flux_points import (
    _BOOL_QUANTITIES,
    _STR_QUANTITIES,
    DEFAULT_UNIT,
    REQUIRED_COLUMNS,
    SED_TYPES,
    QuantityNotAvailableError,
    _guess_sed_type,
    _is_sed_name,
    _prefix,
    all_quantities,
)
from fluxfit.errors import (
    DatasetError,
    FluxfitError,
    FormatError,
    MissingFileError,
    UnitError,
)
from fluxfit.maps import MapAxis, TimeMapAxis
from fluxfit.maps.io import READ_ERRORS

__all__ = [
    "FORMATS",
    "flux_points_from_table",
    "flux_points_to_table",
    "read_flux_points",
    "write_flux_points",
]

log = logging.getLogger(__name__)

#: Table layouts understood by `flux_points_from_table` / written by `flux_points_to_table`.
FORMATS = ("gadf-sed", "lightcurve", "profile")

_FITS_SUFFIXES = (".fits", ".fit", ".fts")
_PROFILE_AXIS = "projected-distance"


# --------------------------------------------------------------------------- helpers
#: What astropy (FITS, ECSV, tables, units, times), numpy, gzip and zlib raise on damaged
#: content (the maps readers' list); `_reading` turns them into `FormatError` naming the file.
_READ_ERRORS = READ_ERRORS


@contextlib.contextmanager
def _reading(where: str, what: str):
    """Errors raised while reading name ``where`` (fluxfit errors keep their class)."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*truncated", category=AstropyUserWarning)
            yield
    except FluxfitError as exc:
        if where in str(exc):
            raise
        raise type(exc)(f"{where}: {exc}") from exc
    except _READ_ERRORS as exc:
        raise FormatError(
            f"{where}: cannot be read as {what} ({type(exc).__name__}: {exc})"
        ) from exc


def _resolve(filename) -> Path:
    return Path(os.path.expandvars(os.path.expanduser(str(filename))))


def _is_fits_name(path: Path) -> bool:
    return any(s.lower() in _FITS_SUFFIXES for s in path.suffixes)


def _looks_like_fits(path: Path) -> bool:
    with open(path, "rb") as handle:
        start = handle.read(6)
    return start.startswith(b"SIMPLE") or start.startswith(b"\x1f\x8b")


def _column_values(table, name: str):
    """Plain ndarray of a column; masked entries become NaN (floats) or False (bools)."""
    column = table[name]
    data = column.data if hasattr(column, "data") else np.asarray(column)
    if np.ma.isMaskedArray(data):
        data = data.filled(False if data.dtype == bool else np.nan)
    return np.asarray(data)


def _text_column(table, name: str) -> np.ndarray:
    """A text column (``message``) as a str array; masked or missing entries are ""."""
    column = table[name]
    data = column.data if hasattr(column, "data") else np.asarray(column)
    if np.ma.isMaskedArray(data):
        data = data.astype(str).filled("")
    data = np.asarray(data)
    if data.dtype.kind == "S":
        data = np.char.decode(data, "ascii", "replace")
    return data.astype(str)


def _has_messages(fp) -> bool:
    """Whether the flux points carry a non-empty ``message`` (then it is written)."""
    values = fp._data.get("message")
    return values is not None and bool(np.any(np.char.str_len(values) > 0))


def _column_unit(table, name: str):
    unit = getattr(table[name], "unit", None)
    return None if unit is None else u.Unit(unit)


def _strip_photons(unit):
    """Drop ``ph``/``photon`` from a unit (``ph cm-2 s-1`` -> ``cm-2 s-1``), as Gammapy."""
    bases = []
    for base, power in zip(unit.bases, unit.powers):
        if base in (u.ph, u.photon):
            continue
        bases.append(base**power)
    out = unit.scale * u.dimensionless_unscaled
    for b in bases:
        out = out * b
    return u.Unit(out)


def _convert(values, unit, target, where: str, name: str) -> np.ndarray:
    """Values of column ``name`` converted from ``unit`` to ``target``."""
    values = np.asarray(values, dtype=float)
    if unit is None:
        if target == u.dimensionless_unscaled:
            return values
        raise UnitError(
            f"{where}: column {name!r} has no unit; expected one convertible to {target}"
        )
    try:
        factor = unit.to(target)
    except u.UnitConversionError:
        try:
            factor = _strip_photons(unit).to(target)
        except u.UnitConversionError:
            raise UnitError(
                f"{where}: column {name!r} has unit {unit.to_string() or 'dimensionless'}, "
                f"expected one convertible to {target.to_string() or 'dimensionless'}"
            ) from None
    return values * factor if factor != 1.0 else values


def _flat_if_equal(values: np.ndarray, where: str, name: str) -> np.ndarray:
    """1-D energy values from a column that is 2-D (one row per time/distance bin)."""
    if values.ndim == 1:
        return values
    if values.ndim == 2 and np.all(values == values[0]):
        return values[0]
    raise FormatError(
        f"{where}: column {name!r} has shape {values.shape}; the energy binning must be the "
        "same in every row"
    )


def _edges_from_lo_hi(lo: np.ndarray, hi: np.ndarray, where: str, label: str) -> np.ndarray:
    if lo.size == 0:
        raise FormatError(f"{where}: the table has no rows (no {label} bins)")
    if lo.shape != hi.shape:
        raise FormatError(
            f"{where}: {label} lower and upper bounds have shapes {lo.shape} and {hi.shape}"
        )
    if not np.allclose(lo[1:], hi[:-1], rtol=1e-6, atol=0):
        log.warning(
            "%s: %s bins are not contiguous; using the lower bounds and the last upper bound "
            "as edges (as Gammapy does)",
            where,
            label,
        )
    return np.append(lo, hi[-1])


def _energy_axis(table, where: str) -> MapAxis:
    names = table.colnames
    if "e_min" in names and "e_max" in names:
        unit = _column_unit(table, "e_min")
        if unit is None or not unit.is_equivalent(u.TeV):
            raise UnitError(
                f"{where}: column 'e_min' has unit {unit}, expected an energy unit (e.g. TeV)"
            )
        lo = _flat_if_equal(_column_values(table, "e_min").astype(float), where, "e_min")
        hi = _convert(
            _flat_if_equal(_column_values(table, "e_max").astype(float), where, "e_max"),
            _column_unit(table, "e_max"),
            unit,
            where,
            "e_max",
        )
        edges = _edges_from_lo_hi(lo, hi, where, "energy")
        return MapAxis.from_energy_edges(u.Quantity(edges, unit))
    if "e_ref" in names:
        unit = _column_unit(table, "e_ref")
        if unit is None or not unit.is_equivalent(u.TeV):
            raise UnitError(
                f"{where}: column 'e_ref' has unit {unit}, expected an energy unit (e.g. TeV)"
            )
        nodes = _flat_if_equal(_column_values(table, "e_ref").astype(float), where, "e_ref")
        return MapAxis.from_nodes(u.Quantity(nodes, unit), name="energy", interp="log")
    raise FormatError(f"{where}: needs columns 'e_min' and 'e_max', or 'e_ref'")


def _time_axis(table, where: str) -> TimeMapAxis:
    meta = table.meta
    for name in ("time_min", "time_max"):
        if name not in table.colnames:
            raise FormatError(f"{where}: format 'lightcurve' needs column {name!r}")
    scale = str(meta.get("TIMESYS", "utc")).strip().lower()
    if scale not in Time.SCALES:
        raise FormatError(
            f"{where}: header key TIMESYS = {meta.get('TIMESYS')!r} is not a time scale "
            f"(valid: {', '.join(sorted(Time.SCALES))})"
        )
    references = {}
    for key, default in (("MJDREFI", 0), ("MJDREFF", 0.0)):
        value = meta.get(key, default)
        try:
            references[key] = float(str(value).replace("D", "e"))
        except (TypeError, ValueError):
            raise FormatError(f"{where}: header key {key} = {value!r} is not a number") from None
        if not np.isfinite(references[key]):
            raise FormatError(f"{where}: header key {key} = {value!r} is not finite")
    mjdrefi, mjdreff = references["MJDREFI"], references["MJDREFF"]
    try:
        unit = u.Unit(str(meta.get("TIMEUNIT", "d")))
        unit.to(u.s)
    except (ValueError, u.UnitConversionError):
        raise UnitError(
            f"{where}: header key TIMEUNIT = {meta.get('TIMEUNIT')!r} is not a time unit"
        ) from None
    t_min = np.asarray(_column_values(table, "time_min"), dtype=float)
    t_max = np.asarray(_column_values(table, "time_max"), dtype=float)
    if mjdrefi == 0 and mjdreff == 0 and unit == u.d and t_min.size:
        # MJD values (Gammapy's convention): reference on the integer day of the first
        # start, so that offsets (exact float differences) give the MJDs back exactly
        day = float(np.floor(np.min(t_min)))
        reference = Time(day, format="mjd", scale=scale)
        t_min, t_max = t_min - day, t_max - day
    else:
        reference = Time(mjdrefi, mjdreff, format="mjd", scale=scale)
    return TimeMapAxis(u.Quantity(t_min, unit), u.Quantity(t_max, unit), reference, name="time")


def _profile_axis(table, where: str) -> MapAxis:
    if "x_min" in table.colnames and "x_max" in table.colnames:
        unit = _column_unit(table, "x_min") or u.dimensionless_unscaled
        lo = _column_values(table, "x_min").astype(float)
        hi = _convert(
            _column_values(table, "x_max"),
            _column_unit(table, "x_max") or unit,
            unit,
            where,
            "x_max",
        )
        if np.array_equal(lo[1:], hi[:-1]):
            return MapAxis.from_edges(u.Quantity(np.append(lo, hi[-1]), unit), name=_PROFILE_AXIS)
    if "x_ref" in table.colnames:
        unit = _column_unit(table, "x_ref") or u.dimensionless_unscaled
        nodes = _column_values(table, "x_ref").astype(float)
        return MapAxis.from_nodes(u.Quantity(nodes, unit), name=_PROFILE_AXIS)
    raise FormatError(f"{where}: format 'profile' needs columns 'x_min' and 'x_max', or 'x_ref'")


def _guess_format(names) -> str:
    if "time_min" in names:
        return "lightcurve"
    if "x_min" in names or "x_ref" in names:
        return "profile"
    return "gadf-sed"


def _convert_loglike_columns(table) -> None:
    """GADF likelihood columns (``loglike``...) to Gammapy's ``stat`` (= 2 loglike)."""
    for old, new in (
        ("loglike", "stat"),
        ("loglike_null", "stat_null"),
        ("dloglike_scan", "stat_scan"),
    ):
        if old in table.colnames and new not in table.colnames:
            table[new] = 2 * np.asarray(table[old], dtype=float)


def _gadf_meta(table, sed_type: str) -> dict:
    meta = dict(table.meta)
    conf_ul = meta.get("UL_CONF")
    if conf_ul:
        try:
            conf = float(conf_ul)
        except (TypeError, ValueError):
            conf = np.nan
        if not 0 < conf < 1:
            raise FormatError(
                f"header key UL_CONF = {conf_ul!r} is not a confidence level between 0 and 1"
            )
        meta["n_sigma_ul"] = float(np.round(stats.norm.isf(0.5 * (1 - conf)), 1))
    for key in ("SQRT_TS_THRESHOLD_UL", "sqrt_ts_threshold_ul"):
        if key in meta:
            try:
                meta["sqrt_ts_threshold_ul"] = float(meta[key])
            except (TypeError, ValueError):
                raise FormatError(f"header key {key} = {meta[key]!r} is not a number") from None
    meta["sed_type_init"] = sed_type
    return meta


# --------------------------------------------------------------------------- reading
def flux_points_from_table(
    cls, table, sed_type=None, format=None, reference_model=None, gti=None, where=None
):
    """Flux points from a GADF-like astropy Table (see the module docstring).

    Raises `~fluxfit.errors.FormatError` for a missing column or an unknown layout
    and `~fluxfit.errors.UnitError` for a column in a wrong unit; ``where`` (e.g.
    the file name) starts the messages.
    """
    where = where or "flux points table"
    with _reading(where, "flux points"):
        return _flux_points_from_table(
            cls, Table(table, copy=True), sed_type, format, reference_model, gti, where
        )


def _flux_points_from_table(cls, table, sed_type, format, reference_model, gti, where):
    """Body of `flux_points_from_table` (errors get the ``where`` prefix there)."""
    names = table.colnames
    if format is None:
        format = _guess_format(names)
    if format not in FORMATS:
        raise FormatError(f"{where}: unknown flux points format {format!r}; use one of {FORMATS}")
    if sed_type is None:
        sed_type = table.meta.get("SED_TYPE")
        if isinstance(sed_type, str):
            sed_type = sed_type.strip().lower() or None
    if sed_type is None:
        sed_type = _guess_sed_type(names)
    if sed_type is None:
        raise FormatError(
            f"{where}: cannot tell the SED type (no SED_TYPE header key and no complete set of "
            f"columns among {REQUIRED_COLUMNS}); give sed_type="
        )
    if sed_type not in SED_TYPES:
        raise FormatError(f"{where}: unknown SED type {sed_type!r}; use one of {SED_TYPES}")
    if sed_type == "likelihood":
        _convert_loglike_columns(table)
    missing = [name for name in REQUIRED_COLUMNS[sed_type] if name not in table.colnames]
    if missing:
        raise FormatError(
            f"{where}: SED type {sed_type!r} needs column(s) {missing}; "
            f"the table has {table.colnames}"
        )
    axes = [_energy_axis(table, where)]
    if format == "lightcurve":
        axes.append(_time_axis(table, where))
    elif format == "profile":
        axes.append(_profile_axis(table, where))

    prefix = _prefix(sed_type)
    data = {}
    for name in all_quantities(sed_type):
        if name not in table.colnames:
            continue
        if name in _STR_QUANTITIES:
            data[name] = _text_column(table, name)
            continue
        values = _column_values(table, name)
        if name in _BOOL_QUANTITIES:
            data[name] = values.astype(bool)
        elif _is_sed_name(name, prefix) and sed_type != "likelihood":
            data[name] = _convert(
                values, _column_unit(table, name), DEFAULT_UNIT[sed_type], where, name
            )
        else:
            data[name] = np.asarray(values, dtype=float)
    if "stat_scan" in data:
        if "norm_scan" not in table.colnames:
            raise FormatError(f"{where}: column 'stat_scan' needs column 'norm_scan'")
        scan = np.asarray(_column_values(table, "norm_scan"), dtype=float)
        flat = scan.reshape(-1, scan.shape[-1])
        data["norm_scan"] = flat[0] if np.all(flat == flat[0]) else scan

    reference_fluxes = None
    if reference_model is None and sed_type == "likelihood":
        from fluxfit.models import TemplateSpectralModel

        reference_fluxes = {}
        for key in ("dnde", "flux", "eflux"):
            name = f"ref_{key}"
            values = _flat_if_equal(_column_values(table, name).astype(float), where, name)
            unit = DEFAULT_UNIT[key]
            reference_fluxes[key] = _convert(values, _column_unit(table, name), unit, where, name)
        e_ref = _flat_if_equal(_column_values(table, "e_ref").astype(float), where, "e_ref")
        reference_model = TemplateSpectralModel(
            energy=u.Quantity(e_ref, _column_unit(table, "e_ref")),
            values=u.Quantity(reference_fluxes["dnde"], DEFAULT_UNIT["dnde"]),
        )
    try:
        return cls(
            data=data,
            axes=axes,
            reference_model=reference_model,
            sed_type=sed_type,
            meta=_gadf_meta(table, sed_type),
            gti=gti,
            reference_fluxes=reference_fluxes,
        )
    except DatasetError as exc:
        raise FormatError(f"{where}: {exc}") from None


def read_flux_points(cls, filename, sed_type=None, format=None, reference_model=None, hdu=None):
    """Read flux points from FITS or ECSV (see `FluxPoints.read`)."""
    path = _resolve(filename)
    if not path.is_file():
        raise MissingFileError(f"flux points file {str(path)!r} does not exist")
    where = str(path)
    gti = None
    if _is_fits_name(path) or _looks_like_fits(path):
        check_fits_sizes(path)  # NAXIS out of range, data declared beyond the file's end
        with _reading(where, "FITS"):
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdulist:
                table_hdu = _select_hdu(hdulist, hdu, where)
                table = Table.read(table_hdu, mask_invalid=False)
                gti_hdu = _find_hdu(hdulist, "GTI")
                if gti_hdu is not None:
                    if not isinstance(gti_hdu, fits.BinTableHDU):
                        raise FormatError(f"{where}: HDU 'GTI' is not a table")
                    gti = Table.read(gti_hdu)
    else:
        with _reading(where, "ECSV"):
            table = Table.read(path, format="ascii.ecsv")
    return flux_points_from_table(
        cls,
        table,
        sed_type=sed_type,
        format=format,
        reference_model=reference_model,
        gti=gti,
        where=where,
    )


def _find_hdu(hdulist, name: str):
    """The first HDU named ``name`` (case-insensitive), or None."""
    for item in hdulist:
        if str(item.name).strip().upper() == name.upper():
            return item
    return None


def _select_hdu(hdulist, hdu, where):
    if hdu is not None:
        if isinstance(hdu, int) and not isinstance(hdu, bool):
            found = hdulist[hdu] if -len(hdulist) <= hdu < len(hdulist) else None
        else:
            found = _find_hdu(hdulist, str(hdu))
        if found is None:
            names = [item.name for item in hdulist]
            raise FormatError(f"{where}: no HDU {hdu!r} (HDUs: {names})")
    else:
        found = _find_hdu(hdulist, "FLUXPOINTS")
        if found is None:
            found = next(
                (item for item in hdulist if isinstance(item, fits.BinTableHDU | fits.TableHDU)),
                None,
            )
        if found is None:
            raise FormatError(f"{where}: no table HDU found")
    if not isinstance(found, fits.BinTableHDU | fits.TableHDU):
        raise FormatError(
            f"{where}: HDU {found.name!r} is a {type(found).__name__}, expected a table of "
            "flux points"
        )
    return found


# --------------------------------------------------------------------------- writing
def _guess_format_axes(fp) -> str:
    names = fp.axes.names
    if "time" in names:
        return "lightcurve"
    if _PROFILE_AXIS in names:
        return "profile"
    return "gadf-sed"


def _ul_conf(n_sigma_ul) -> float:
    return float(np.round(1 - 2 * stats.norm.sf(n_sigma_ul), 7))


def _gadf_sed_table(fp, sed_type: str, messages: bool | None = None) -> Table:
    if fp.axes.names != ["energy"]:
        raise DatasetError(
            f"FluxPoints with axes {fp.axes.names} cannot be written as 'gadf-sed'; use "
            "format='lightcurve' / 'profile', or slice_by_idx to select one bin of the extra axis"
        )
    axis = fp.energy_axis
    table = Table()
    table["e_ref"] = axis.center
    table["e_min"] = axis.edges_min
    table["e_max"] = axis.edges_max
    table.meta["SED_TYPE"] = sed_type
    if not fp.is_convertible_to_flux_sed_type:
        table.remove_columns(["e_min", "e_max"])
    if fp.n_sigma_ul:
        table.meta["UL_CONF"] = _ul_conf(fp.n_sigma_ul)
    if "sqrt_ts_threshold_ul" in fp.meta:
        table.meta["SQRT_TS_THRESHOLD_UL"] = float(fp.meta["sqrt_ts_threshold_ul"])
    if sed_type == "likelihood":
        table["ref_dnde"] = fp.dnde_ref
        table["ref_flux"] = fp.flux_ref
        table["ref_eflux"] = fp.eflux_ref
    for name in all_quantities(sed_type):
        if name in table.colnames or name in _STR_QUANTITIES:
            continue
        try:
            value = fp.get_quantity(name)
        except QuantityNotAvailableError:
            continue
        if name == "is_ul":
            table[name] = np.asarray(value, dtype=bool)
        elif isinstance(value, u.Quantity):
            table[name] = value
        elif np.asarray(value).dtype == bool:
            table[name] = np.asarray(value)
            table[name].unit = u.dimensionless_unscaled
        else:
            table[name] = u.Quantity(np.asarray(value, dtype=float), u.dimensionless_unscaled)
    if fp.has_stat_profiles:
        table["norm_scan"] = u.Quantity(np.array(fp.norm_scan), u.dimensionless_unscaled)
    if not fp.has_ul:
        table.remove_column("is_ul")
    if _has_messages(fp) if messages is None else messages:
        # fluxfit's column (Gammapy ignores it), last; ASCII for FITS
        text = [m.encode("ascii", "backslashreplace").decode() for m in np.ravel(fp.message)]
        table["message"] = np.array(text, dtype=str).reshape(np.shape(fp.message))
    return table


def _stacked_table(fp, sed_type: str, axis_name: str) -> tuple[Table, list]:
    """Columns of the per-bin ``gadf-sed`` tables stacked along an extra axis."""
    extra = [name for name in fp.axes.names if name != "energy"]
    if extra != [axis_name]:
        raise DatasetError(
            f"FluxPoints with axes {fp.axes.names} cannot be written in a table with one "
            f"{axis_name!r} axis"
        )
    axis = fp.axes[axis_name]
    messages = _has_messages(fp)
    tables = [
        _gadf_sed_table(fp.slice_by_idx({axis_name: idx}), sed_type, messages)
        for idx in range(axis.nbin)
    ]
    return tables[0], tables


def _stack_columns(table: Table, template: Table, tables: list) -> None:
    for name in template.colnames:
        values = np.stack([np.asarray(t[name]) for t in tables])
        unit = template[name].unit
        table[name] = values
        if unit is not None:
            table[name].unit = unit
    table.meta.update(template.meta)


def flux_points_to_table(fp, sed_type=None, format=None, formatted=False) -> Table:
    """Table of flux points in Gammapy's layout (see `FluxPoints.to_table`)."""
    sed_type = fp.sed_type_init if sed_type is None else sed_type
    if sed_type not in SED_TYPES:
        raise DatasetError(
            f"FluxPoints.to_table: unknown SED type {sed_type!r}; use one of {SED_TYPES}"
        )
    format = _guess_format_axes(fp) if format is None else format
    if format == "gadf-sed":
        table = _gadf_sed_table(fp, sed_type)
    elif format == "lightcurve":
        template, tables = _stacked_table(fp, sed_type, "time")
        axis = fp.axes["time"]
        scale = axis.reference_time.scale
        table = Table()
        table["time_min"], table["time_max"] = _mjd_edges(axis)
        _stack_columns(table, template, tables)
        table.meta.update({"MJDREFI": 0, "MJDREFF": 0.0, "TIMESYS": scale, "TIMEUNIT": "d"})
    elif format == "profile":
        template, tables = _stacked_table(fp, sed_type, _PROFILE_AXIS)
        axis = fp.axes[_PROFILE_AXIS]
        table = Table()
        table["x_min"] = axis.edges_min
        table["x_max"] = axis.edges_max
        table["x_ref"] = (axis.edges_min + axis.edges_max) / 2
        _stack_columns(table, template, tables)
    else:
        raise DatasetError(f"FluxPoints.to_table: unknown format {format!r}; use one of {FORMATS}")
    if formatted:
        _format_table(table)
    return table


def _mjd_edges(axis) -> tuple[np.ndarray, np.ndarray]:
    """MJD of the interval bounds, in the reference time's scale.

    With a reference on an integer MJD (as `flux_points_from_table` sets it) the
    offsets are added as floats, which reproduces the MJDs read exactly; otherwise
    astropy's time arithmetic is used (as Gammapy).
    """
    ref_mjd = float(axis.reference_time.mjd)
    if ref_mjd.is_integer():
        return ref_mjd + axis.edges_min.to_value(u.d), ref_mjd + axis.edges_max.to_value(u.d)
    return np.asarray(axis.time_min.mjd, dtype=float), np.asarray(axis.time_max.mjd, dtype=float)


def _format_table(table: Table) -> None:
    for name in table.colnames:
        if name.startswith(("dnde", "eflux", "flux", "e2dnde", "ref")):
            table[name].format = ".3e"
        elif name.startswith(("e_min", "e_max", "e_ref", "sqrt_ts", "norm", "ts", "stat")):
            table[name].format = ".3f"


def write_flux_points(fp, filename, sed_type=None, format=None, overwrite=False, checksum=False):
    """Write flux points to FITS or ECSV (see `FluxPoints.write`)."""
    path = check_output(_resolve(filename), overwrite)
    table = flux_points_to_table(fp, sed_type=sed_type, format=format)
    if not _is_fits_name(path):
        table.write(path, format="ascii.ecsv", overwrite=True)
        return
    threshold = table.meta.pop("SQRT_TS_THRESHOLD_UL", None)
    hdu = fits.table_to_hdu(table)
    hdu.name = "FLUXPOINTS"
    if threshold is not None:
        hdu.header["HIERARCH SQRT_TS_THRESHOLD_UL"] = threshold
    hdulist = fits.HDUList([fits.PrimaryHDU(), hdu])
    if fp.gti is not None:
        gti = fp.gti if isinstance(fp.gti, Table) else getattr(fp.gti, "table", None)
        if gti is not None:
            gti_hdu = fits.table_to_hdu(Table(gti))
            gti_hdu.name = "GTI"
            hdulist.append(gti_hdu)
    hdulist.writeto(path, overwrite=True, checksum=checksum)
