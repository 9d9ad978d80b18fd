"""Light-curve template: a tabulated norm versus time, linearly interpolated.

Examples
--------
>>> from astropy.table import Table
>>> from astropy.time import Time
>>> from fluxfit.models import LightCurveTemplateTemporalModel
>>> table = Table({"TIME": [58000.0, 58001.0, 58003.0], "NORM": [1.0, 3.0, 1.0]})
>>> model = LightCurveTemplateTemporalModel(table, scale="tt")
>>> model(Time([58000.5, 58002.0], format="mjd", scale="tt"))
array([2., 2.])
"""

from __future__ import annotations

import os
from pathlib import Path

import astropy.units as u
import numpy as np

from fluxfit._files import check_fits_sizes, check_output
from fluxfit.errors import FormatError, MissingFileError, ModelError
from fluxfit.models._template_files import resolve_template
from fluxfit.models.core import register_model
from fluxfit.models.temporal.core import TemporalModel, _check_keys, _check_scale

__all__ = ["LightCurveTemplateTemporalModel"]


def _resolve(filename) -> Path:
    return Path(os.path.expandvars(str(filename))).expanduser()


def _table_times(table, scale: str, where: str) -> np.ndarray:
    """MJD (TT) of the TIME column of a light-curve table."""
    from astropy.time import Time

    column = table["TIME"]
    if isinstance(column, Time):
        return np.asarray(column.tt.mjd, dtype=float)
    meta = {str(k).upper(): v for k, v in table.meta.items()}
    values = np.asarray(column, dtype=float)
    table_scale = str(meta.get("TIMESYS", "")).lower() or None
    if "MJDREFI" in meta or "MJDREF" in meta:
        if "MJDREFI" in meta:
            reference = float(meta["MJDREFI"]) + float(meta.get("MJDREFF", 0.0))
        else:
            reference = float(meta["MJDREF"])
        unit = meta.get("TIMEUNIT") or (column.unit.to_string() if column.unit else "s")
        try:
            unit = u.Unit(unit)
            offsets = (values * unit).to_value(u.day)
        except (ValueError, u.UnitConversionError):
            raise FormatError(f"{where}: TIME unit {unit!r} is not a time unit") from None
        time_scale = _check_scale(table_scale or "tt", where)
        ref = Time(reference, format="mjd", scale=time_scale)
        times = ref + offsets * u.day
        return np.asarray(times.tt.mjd, dtype=float)
    if column.unit is not None and column.unit != u.day and str(column.unit) != "":
        raise FormatError(
            f"{where}: TIME is in {column.unit} without MJDREFI/MJDREFF (or MJDREF): "
            "give MJD values in days or a reference time"
        )
    time_scale = _check_scale(table_scale or scale, where)
    return np.asarray(Time(values, format="mjd", scale=time_scale).tt.mjd, dtype=float)


@register_model
class LightCurveTemplateTemporalModel(TemporalModel):
    """Norm tabulated versus time, linearly interpolated; 0 outside the table.

    Gammapy extrapolates linearly (clipping at 0); fluxfit returns 0 before
    the first and after the last time so that a template never invents flux.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Columns TIME and NORM. TIME is an astropy Time column, or floats:
        offsets from MJDREFI+MJDREFF (or MJDREF) in TIMEUNIT (default s) when
        the table meta has a reference, otherwise MJD in days. The time scale
        of floats is the meta TIMESYS, else ``scale``.
    filename : str, optional
        File the table was read from (written to YAML).
    scale : str
        Time scale of MJD floats without TIMESYS (default "utc").

    Examples
    --------
    >>> from astropy.table import Table
    >>> from astropy.time import Time
    >>> from fluxfit.models import LightCurveTemplateTemporalModel
    >>> times = Time(["2020-01-01", "2020-01-02"], scale="utc")
    >>> model = LightCurveTemplateTemporalModel(Table({"TIME": times, "NORM": [0.0, 2.0]}))
    >>> float(model.mean(times[0], times[1])[0])
    1.0
    """

    tag = ("LightCurveTemplateTemporalModel",)
    _parameter_specs = ()
    _extra_keys = frozenset({"filename", "format"})

    def __init__(self, table, filename=None, scale: str = "utc"):
        super().__init__(scale=scale)
        where = "LightCurveTemplateTemporalModel" + (f"({filename})" if filename else "")
        names = getattr(table, "colnames", None)
        if names is None:
            raise ModelError(f"{where}: expected an astropy Table, got {type(table).__name__}")
        for name in ("TIME", "NORM"):
            if name not in names:
                raise FormatError(f"{where}: missing column {name!r}; columns are {names}")
        if len(table) < 2:
            raise ModelError(f"{where}: a light curve needs at least 2 rows, got {len(table)}")
        time = _table_times(table, scale, where)
        norm = np.asarray(table["NORM"], dtype=float).ravel()
        if time.shape != norm.shape:
            raise FormatError(f"{where}: TIME and NORM must be 1-D columns of equal length")
        if not (np.all(np.isfinite(time)) and np.all(np.isfinite(norm))):
            raise ModelError(f"{where}: TIME and NORM must be finite")
        if np.any(np.diff(time) <= 0):
            raise ModelError(f"{where}: TIME must be strictly increasing")
        self.table = table
        self.filename = None if filename is None else str(filename)
        self._time = time
        self._norm = norm
        steps = 0.5 * (norm[1:] + norm[:-1]) * np.diff(time)
        self._cumulative = np.concatenate([[0.0], np.cumsum(steps)])

    # ------------------------------------------------------------ float API
    @property
    def time_mjd(self) -> np.ndarray:
        """Node times, MJD (TT)."""
        return self._time

    @property
    def norm(self) -> np.ndarray:
        """Node norms."""
        return self._norm

    def evaluate(self, time):
        """Norm at ``time`` (MJD TT floats)."""
        return np.interp(np.asarray(time, dtype=float), self._time, self._norm, left=0.0, right=0.0)

    def value_array(self, time, overrides=None):
        return self.evaluate(time)

    def _primitive(self, time):
        time = np.asarray(time, dtype=float)
        inside = np.clip(time, self._time[0], self._time[-1])
        idx = np.clip(np.searchsorted(self._time, inside, side="right") - 1, 0, self._time.size - 2)
        t0 = self._time[idx]
        value = self.evaluate(inside)
        return self._cumulative[idx] + 0.5 * (self._norm[idx] + value) * (inside - t0)

    def integral_array(self, t_min, t_max, overrides=None):
        """Exact integral (days) of the interpolated norm over each interval (MJD TT)."""
        return self._primitive(t_max) - self._primitive(t_min)

    # ----------------------------------------------------------------- I/O
    @classmethod
    def read(cls, filename, hdu=None, scale: str = "utc"):
        """Read a FITS (or ECSV) table with TIME and NORM columns.

        Parameters
        ----------
        filename : str or Path
            File; environment variables and ``~`` are expanded.
        hdu : str or int, optional
            FITS HDU; default the first table HDU.
        scale : str
            Time scale of MJD floats when the file has no TIMESYS.
        """
        from astropy.table import Table

        path = _resolve(filename)
        if not path.is_file():
            raise MissingFileError(
                f"LightCurveTemplateTemporalModel: file {str(path)!r} does not exist"
            )
        kwargs = {} if hdu is None else {"hdu": hdu}
        check_fits_sizes(path)  # FITS only: NAXIS out of range, data beyond the file's end
        try:
            table = Table.read(path, **kwargs)
        except Exception as exc:
            raise FormatError(f"{path}: cannot read a light-curve table ({exc})") from None
        try:
            return cls(table, filename=str(filename), scale=scale)
        except (FormatError, ModelError) as exc:
            raise FormatError(f"{path}: {exc}") from None

    def write(self, filename, overwrite: bool = False) -> None:
        """Write TIME (MJD TT, days, MJDREF = 0) and NORM to a FITS table; sets `filename`."""
        from astropy.table import Table

        path = check_output(_resolve(filename), overwrite)
        table = Table({"TIME": self._time * u.day, "NORM": self._norm})
        table.meta.update({"MJDREFI": 0, "MJDREFF": 0.0, "TIMESYS": "TT", "TIMEUNIT": "d"})
        table.write(path, format="fits", overwrite=overwrite)
        self.filename = str(filename)

    def to_dict(self, full_output: bool = False) -> dict:
        if self.filename is None:
            raise ModelError(
                "LightCurveTemplateTemporalModel: no filename to write to YAML; call "
                "write(filename) first"
            )
        return {
            "type": self.type,
            "parameters": [],
            "filename": self.filename,
            "scale": self.scale,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = ""):
        where = where or cls.__name__
        _check_keys(data, {"type", "parameters", "scale", *cls._extra_keys}, where)
        if not data.get("filename"):
            raise ModelError(f"{where}: missing key 'filename'")
        if data.get("parameters"):
            raise ModelError(f"{where}: a light-curve template has no parameters")
        model = cls.read(resolve_template(data["filename"], where), scale=data.get("scale", "utc"))
        model.filename = str(data["filename"])  # as written: the YAML stays relocatable
        return model

    def __repr__(self) -> str:
        return (
            f"LightCurveTemplateTemporalModel(filename={self.filename!r}, "
            f"n_times={self._time.size}, mjd=[{self._time[0]:.6f}, {self._time[-1]:.6f}] TT)"
        )
