"""`TimeMapAxis`: a map axis of time intervals, not necessarily contiguous.

Intervals are stored as offsets ``edges_min``/``edges_max`` (plain floats in ``unit``)
from a ``reference_time`` (`~astropy.time.Time`); they must be sorted and must not
overlap, but gaps are allowed (e.g. one bin per observation or per GTI).

Examples
--------
>>> import astropy.units as u
>>> from astropy.time import Time
>>> from fluxfit.maps import TimeMapAxis
>>> axis = TimeMapAxis([0, 1, 3] * u.d, [0.8, 1.9, 5.4] * u.d, Time("2020-01-01T00:00:00"))
>>> axis.nbin, axis.is_contiguous
(3, False)
>>> axis.time_mid[1].isot
'2020-01-02T10:48:00.000'
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Table
from astropy.time import Time

from fluxfit.errors import DatasetError, FormatError, UnitError

from ._utils import INVALID_INDEX, edges_from_lo_hi, time_ref_from_dict, time_ref_to_dict

__all__ = ["TimeMapAxis"]


class TimeMapAxis:
    """Axis of (possibly non-contiguous) time intervals.

    Parameters
    ----------
    edges_min, edges_max : `~astropy.units.Quantity`
        Interval starts and stops relative to ``reference_time`` (time unit).
    reference_time : `~astropy.time.Time`
        Reference time.
    name : str
        Axis name, default ``"time"``.
    interp : {"lin"}
        Only linear interpolation is supported.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.time import Time
    >>> from fluxfit.maps import TimeMapAxis
    >>> t0 = Time(["2021-01-01T00:00", "2021-01-03T00:00"])
    >>> t1 = Time(["2021-01-02T00:00", "2021-01-04T00:00"])
    >>> TimeMapAxis.from_time_edges(t0, t1).bin_width.to_value("d").tolist()
    [1.0, 1.0]
    """

    node_type = "intervals"

    def __init__(self, edges_min, edges_max, reference_time, name="time", interp="lin"):
        edges_min = u.Quantity(edges_min, ndmin=1)
        edges_max = u.Quantity(edges_max, ndmin=1)
        for what, edges in (("edges_min", edges_min), ("edges_max", edges_max)):
            if not edges.unit.is_equivalent("s"):
                raise UnitError(
                    f"TimeMapAxis {name!r}: {what} needs a time unit, got {edges.unit!s}"
                )
        edges_max = edges_max.to(edges_min.unit)
        if edges_min.shape != edges_max.shape:
            raise DatasetError(
                f"TimeMapAxis {name!r}: edges_min and edges_max shapes differ: "
                f"{edges_min.shape} vs {edges_max.shape}"
            )
        if not np.all(edges_max > edges_min):
            raise DatasetError(f"TimeMapAxis {name!r}: every edges_max must exceed edges_min")
        if not (np.all(np.diff(edges_min.value) >= 0) and np.all(np.diff(edges_max.value) >= 0)):
            raise DatasetError(f"TimeMapAxis {name!r}: time intervals must be sorted")
        if np.any(edges_min.value[1:] < edges_max.value[:-1]):
            raise DatasetError(f"TimeMapAxis {name!r}: time intervals must not overlap")
        if interp != "lin":
            raise DatasetError(f"TimeMapAxis {name!r}: only interp='lin' is supported")
        self._name = name
        self._unit = edges_min.unit
        self._edges_min = np.asarray(edges_min.value, dtype=float)
        self._edges_max = np.asarray(edges_max.value, dtype=float)
        self._reference_time = Time(reference_time)
        self._interp = interp

    # ------------------------------------------------------------------ properties
    @property
    def name(self):
        """Axis name."""
        return self._name

    @property
    def unit(self):
        """Unit of the interval offsets."""
        return self._unit

    @property
    def interp(self):
        """Always ``lin``."""
        return self._interp

    @property
    def reference_time(self):
        """Reference time (`~astropy.time.Time`)."""
        return self._reference_time

    @property
    def nbin(self):
        """Number of intervals."""
        return len(self._edges_min)

    @property
    def edges_min(self):
        """Interval starts relative to the reference time (Quantity)."""
        return u.Quantity(self._edges_min, self._unit)

    @property
    def edges_max(self):
        """Interval stops relative to the reference time (Quantity)."""
        return u.Quantity(self._edges_max, self._unit)

    @property
    def is_contiguous(self):
        """Whether each interval starts where the previous one stops."""
        return bool(np.all(self._edges_min[1:] == self._edges_max[:-1]))

    @property
    def edges(self):
        """Contiguous edges (only for contiguous axes)."""
        if not self.is_contiguous:
            raise DatasetError(f"TimeMapAxis {self.name!r} is not contiguous: no bin edges")
        return edges_from_lo_hi(self.edges_min, self.edges_max)

    @property
    def bounds(self):
        """First start and last stop (Quantities)."""
        return self.edges_min[0], self.edges_max[-1]

    @property
    def time_bounds(self):
        """First start and last stop as `~astropy.time.Time`."""
        t_min, t_max = self.bounds
        return self.reference_time + t_min, self.reference_time + t_max

    @property
    def time_min(self):
        """Interval starts (`~astropy.time.Time`)."""
        return self.reference_time + self.edges_min

    @property
    def time_max(self):
        """Interval stops (`~astropy.time.Time`)."""
        return self.reference_time + self.edges_max

    @property
    def time_delta(self):
        """Interval durations (`~astropy.time.TimeDelta`)."""
        return self.time_max - self.time_min

    @property
    def time_mid(self):
        """Interval centres (`~astropy.time.Time`)."""
        return self.reference_time + self.center

    @property
    def time_edges(self):
        """Edges as `~astropy.time.Time` (contiguous axes only)."""
        return self.reference_time + self.edges

    @property
    def center(self):
        """Interval centres relative to the reference time (Quantity)."""
        return u.Quantity(0.5 * (self._edges_min + self._edges_max), self._unit)

    @property
    def bin_width(self):
        """Interval durations (Quantity, hours)."""
        return u.Quantity(self._edges_max - self._edges_min, self._unit).to("h")

    @property
    def iter_by_edges(self):
        """Iterate over ``(time_min, time_max)`` pairs of `~astropy.time.Time`."""
        yield from zip(self.time_min, self.time_max)

    # ------------------------------------------------------------------ coordinates
    def _relative(self, coord):
        if isinstance(coord, Time):
            return (coord - self.reference_time).to_value(self._unit)
        if isinstance(coord, u.Quantity):
            return coord.to_value(self._unit)
        return np.asarray(coord, dtype=float)

    def coord_to_idx(self, coord, **kwargs):
        """Index of the interval holding each time (-1 outside all intervals).

        ``coord`` is a `~astropy.time.Time` or a Quantity relative to the reference time.
        Intervals are ``(start, stop]`` as in Gammapy.
        """
        values = np.atleast_1d(self._relative(coord))
        idx = np.searchsorted(self._edges_min, values, side="left") - 1
        idx_c = np.clip(idx, 0, self.nbin - 1)
        valid = (idx >= 0) & (values > self._edges_min[idx_c]) & (values <= self._edges_max[idx_c])
        return np.where(valid, idx_c, INVALID_INDEX)

    def coord_to_pix(self, coord, **kwargs):
        """Pixel coordinate (interval index + fraction - 0.5); NaN outside the intervals."""
        values = np.atleast_1d(self._relative(coord))
        idx = self.coord_to_idx(coord)
        valid = idx != INVALID_INDEX
        pix = np.full(values.shape, np.nan)
        lo = self._edges_min[idx[valid]]
        hi = self._edges_max[idx[valid]]
        pix[valid] = idx[valid] + (values[valid] - lo) / (hi - lo) - 0.5
        return pix

    def pix_to_coord(self, pix):
        """Times (`~astropy.time.Time`) of pixel coordinates; MJD 0 outside."""
        pix = np.atleast_1d(np.asarray(pix, dtype=float)) + 0.5
        finite = np.isfinite(pix)
        p = np.where(finite, pix, -1.0)
        idx = np.floor(p).astype(int)
        valid = (idx >= 0) & (idx < self.nbin)
        idx_c = np.clip(idx, 0, self.nbin - 1)
        frac = p - idx
        values = self._edges_min[idx_c] + frac * (self._edges_max[idx_c] - self._edges_min[idx_c])
        times = self.reference_time + u.Quantity(np.where(valid, values, 0.0), self._unit)
        if not np.all(valid):
            invalid_time = Time(0.0, format="mjd", scale=self.reference_time.scale)
            times[~valid] = invalid_time
        return times

    @staticmethod
    def pix_to_idx(pix, clip=False):
        """Pixels are used as indices unchanged."""
        return pix

    # ------------------------------------------------------------------ derived axes
    def copy(self, **kwargs):
        """Copy, overriding constructor arguments."""
        args = {
            "edges_min": self.edges_min,
            "edges_max": self.edges_max,
            "reference_time": self.reference_time,
            "name": self.name,
            "interp": self.interp,
        }
        args.update(kwargs)
        return self.__class__(**args)

    def slice(self, idx):
        """Sub-axis from a slice of intervals."""
        if isinstance(idx, int | np.integer):
            idx = slice(int(idx), int(idx) + 1)
        return self.copy(edges_min=self.edges_min[idx], edges_max=self.edges_max[idx])

    def squash(self):
        """Single interval from the first start to the last stop."""
        return self.copy(edges_min=self.edges_min[:1], edges_max=self.edges_max[-1:])

    def to_contiguous(self):
        """Contiguous axis over all starts and stops (gaps become bins)."""
        edges = np.unique(np.concatenate([self._edges_min, self._edges_max]))
        return self.copy(
            edges_min=u.Quantity(edges[:-1], self._unit),
            edges_max=u.Quantity(edges[1:], self._unit),
        )

    def upsample(self, *args, **kwargs):
        raise DatasetError("TimeMapAxis cannot be upsampled: its intervals have no finer grid")

    def downsample(self, *args, **kwargs):
        raise DatasetError("TimeMapAxis cannot be downsampled: merge its intervals explicitly")

    def assert_name(self, required_name):
        """Raise `~fluxfit.errors.DatasetError` if the name differs."""
        if self.name != required_name:
            raise DatasetError(
                f"Unexpected axis name: expected {required_name!r}, got {self.name!r}"
            )

    def is_allclose(self, other, **kwargs):
        """Same name, number of bins and close interval times."""
        if not isinstance(other, TimeMapAxis) or self.nbin != other.nbin:
            return False
        if self.name != other.name:
            return False
        t_self = [self.time_min.mjd, self.time_max.mjd]
        t_other = [other.time_min.mjd, other.time_max.mjd]
        kwargs.setdefault("atol", 1e-9)
        kwargs.setdefault("rtol", 0.0)
        return bool(np.allclose(t_self, t_other, **kwargs))

    def __eq__(self, other):
        return self.is_allclose(other)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def is_aligned(self, other, atol=2e-2):
        raise DatasetError("is_aligned is not defined for TimeMapAxis (intervals, not a grid)")

    def __repr__(self):
        return (
            f"{self.__class__.__name__}\n\n"
            f"\tname           : {self.name}\n"
            f"\tnbins          : {self.nbin}\n"
            f"\treference time : {self.reference_time.iso}\n"
            f"\tscale          : {self.reference_time.scale}\n"
            f"\ttime min.      : {self.time_min.min().iso}\n"
            f"\ttime max.      : {self.time_max.max().iso}\n"
            f"\ttotal time     : {np.sum(self.bin_width):.4f}\n"
        )

    # ------------------------------------------------------------------ factories
    @classmethod
    def from_time_edges(cls, time_min, time_max, unit="d", interp="lin", name="time"):
        """Axis from interval start and stop times; the first start is the reference.

        Parameters
        ----------
        time_min, time_max : `~astropy.time.Time`
            Interval starts and stops.
        unit : str
            Unit of the stored offsets. Default ``d``.
        """
        time_min = Time(time_min)
        time_max = Time(time_max)
        reference_time = time_min[0] if time_min.shape else time_min
        edges_min = (time_min - reference_time).to(unit)
        edges_max = (time_max - reference_time).to(unit)
        return cls(edges_min, edges_max, reference_time, name=name, interp=interp)

    @classmethod
    def from_time_bounds(cls, time_min, time_max, nbin, unit="d", name="time"):
        """Contiguous axis of ``nbin`` equal intervals between two times."""
        delta = Time(time_max) - Time(time_min)
        time_edges = Time(time_min) + delta * np.linspace(0, 1, int(nbin) + 1)
        return cls.from_time_edges(time_edges[:-1], time_edges[1:], unit=unit, name=name)

    @classmethod
    def from_gti(cls, time_start, time_stop, name="time"):
        """One interval per good time interval (``time_start``/``time_stop`` as Time)."""
        return cls.from_time_edges(time_start, time_stop, unit="s", name=name)

    # ------------------------------------------------------------------ tables
    def to_table(self):
        """GTI-like table: ``START``, ``STOP`` (s from the reference) and time reference keys.

        Examples
        --------
        >>> import astropy.units as u
        >>> from astropy.time import Time
        >>> from fluxfit.maps import TimeMapAxis
        >>> axis = TimeMapAxis([0, 2] * u.h, [1, 3] * u.h, Time("2020-01-01", scale="tt"))
        >>> axis.to_table()["STOP"].quantity.to_value("s").tolist()
        [3600.0, 10800.0]
        """
        table = Table()
        table["START"] = self.edges_min.to("s")
        table["STOP"] = self.edges_max.to("s")
        table.meta.update(time_ref_to_dict(self.reference_time))
        table.meta["TIMEUNIT"] = "s"
        return table

    def to_header(self, format="gadf", idx=0):
        """``AXCOLS<idx>``/``INTERP<idx>`` keys and the time reference keys."""
        from astropy.io import fits

        if format != "gadf":
            raise FormatError(f"TimeMapAxis header format must be 'gadf', got {format!r}")
        header = fits.Header()
        name = self.name.upper()
        header[f"AXCOLS{idx}"] = f"{name}_MIN,{name}_MAX"
        header[f"INTERP{idx}"] = self.interp
        header.update(time_ref_to_dict(self.reference_time))
        return header

    @classmethod
    def from_table(cls, table, format="gadf", idx=0):
        """Axis from a table.

        Parameters
        ----------
        table : `~astropy.table.Table`
        format : {"gadf", "gti"}
            ``gadf``: BANDS table columns named by ``AXCOLS<idx + 1>``;
            ``gti``: ``START``/``STOP`` columns. Both read the time reference from
            ``MJDREFI``/``MJDREFF``/``TIMESYS`` in ``table.meta``.
        """
        try:
            reference_time = time_ref_from_dict(table.meta)
        except KeyError as exc:
            raise FormatError("time axis table: missing header key 'MJDREFI'") from exc
        if format == "gadf":
            key = f"AXCOLS{idx + 1}"
            if key not in table.meta:
                raise FormatError(f"time axis table: missing header key {key!r}")
            colnames = str(table.meta[key]).split(",")
            name = colnames[0].replace("_MIN", "").lower()
            edges_min = np.unique(table[colnames[0]].quantity)
            edges_max = np.unique(table[colnames[1]].quantity)
        elif format == "gti":
            name = "time"
            unit = table.meta.get("TIMEUNIT", "s")
            edges_min = u.Quantity(table["START"], table["START"].unit or unit)
            edges_max = u.Quantity(table["STOP"], table["STOP"].unit or unit)
        else:
            raise FormatError(f"Unknown time axis table format {format!r}")
        return cls(edges_min, edges_max, reference_time, name=name)
