"""`GTI`: good time intervals (GADF ``GTI`` HDU: START, STOP in seconds since MJDREF).

Intervals are float64 seconds since a reference time (the file's MJDREFI/MJDREFF in scale
TIMESYS, TIMEUNIT honoured); `GTI.time_start` / `GTI.time_stop` give `~astropy.time.Time` in
the reference's scale. Selections work on those floats, so cutting an observation into many
pieces costs no `~astropy.time.Time` arithmetic beyond converting the interval edges once.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit._files import check_output
from fluxfit.errors import DatasetError, FormatError
from fluxfit.irf.gadf._fits import FitsTable, find_table_hdu, kept_header, open_fits

from ._time import (
    TIME_REF_DEFAULT,
    met_to_times,
    shift_met,
    time_ref_from_header,
    time_ref_to_header,
    time_unit_from_header,
    times_to_met,
)

__all__ = ["GTI", "interval_to_met"]


def interval_to_met(time_interval, time_ref: Time) -> tuple[float, float]:
    """``(start, stop)`` seconds since ``time_ref`` of a ``Time([start, stop])`` interval."""
    if isinstance(time_interval, Time):
        times = time_interval
    else:
        try:
            times = Time(list(time_interval))
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"time interval must be two astropy Time values, got {time_interval!r}"
            ) from exc
    if times.shape != (2,):
        raise DatasetError(f"time interval must be [start, stop], got shape {times.shape}")
    start, stop = times_to_met(times, time_ref)
    return float(start), float(stop)


class GTI:
    """Good time intervals.

    Parameters
    ----------
    start, stop : array-like
        Interval bounds in seconds since ``reference_time``, or `~astropy.time.Time`.
    reference_time : `~astropy.time.Time`, optional
        Default 2000-01-01 TT (Gammapy's default).
    meta : dict, optional
        Header keywords kept for writing.

    Examples
    --------
    >>> from astropy.time import Time
    >>> from fluxfit.data import GTI
    >>> gti = GTI.from_time_intervals([Time(["2020-01-01T00:00", "2020-01-01T01:00"])])
    >>> gti.time_sum
    <Quantity 3600. s>
    >>> gti.select_time(Time(["2020-01-01T00:30", "2020-01-02T00:00"])).time_sum
    <Quantity 1800. s>
    """

    def __init__(self, start, stop, reference_time=None, meta=None):
        reference_time = TIME_REF_DEFAULT if reference_time is None else Time(reference_time)
        if isinstance(start, Time):
            start = times_to_met(start, reference_time)
        if isinstance(stop, Time):
            stop = times_to_met(stop, reference_time)
        start = np.atleast_1d(np.asarray(start, dtype=np.float64))
        stop = np.atleast_1d(np.asarray(stop, dtype=np.float64))
        if start.shape != stop.shape or start.ndim != 1:
            raise DatasetError(f"GTI: START and STOP shapes differ: {start.shape}, {stop.shape}")
        bad = ~(np.isfinite(start) & np.isfinite(stop)) | (stop < start)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise DatasetError(
                f"GTI: interval {i} has START = {start[i]} s, STOP = {stop[i]} s "
                "(must be finite with STOP >= START)"
            )
        self._start = start
        self._stop = stop
        self._time_ref = reference_time
        self.meta = dict(meta or {})

    # ------------------------------------------------------------------ construction
    @classmethod
    def create(cls, start, stop, reference_time=None):
        """GTI from start/stop `~astropy.time.Time` or Quantities relative to ``reference_time``."""
        reference_time = TIME_REF_DEFAULT if reference_time is None else Time(reference_time)
        values = []
        for what, bound in (("start", start), ("stop", stop)):
            if isinstance(bound, Time):
                values.append(times_to_met(bound, reference_time))
            else:
                try:
                    values.append(u.Quantity(bound, u.s).to_value(u.s))
                except u.UnitConversionError:
                    raise DatasetError(f"GTI.create: {what} must be a Time or a duration") from None
        return cls(values[0], values[1], reference_time=reference_time)

    @classmethod
    def from_time_intervals(cls, time_intervals, reference_time=None):
        """GTI from a list of ``Time([start, stop])`` intervals."""
        reference_time = TIME_REF_DEFAULT if reference_time is None else Time(reference_time)
        bounds = [interval_to_met(interval, reference_time) for interval in time_intervals]
        if not bounds:
            return cls([], [], reference_time=reference_time)
        start, stop = np.array(bounds, dtype=np.float64).T
        return cls(start, stop, reference_time=reference_time)

    @classmethod
    def from_fits_table(cls, table: FitsTable):
        """GTI from a GADF ``GTI`` table (START, STOP; TIMEUNIT, MJDREF*, TIMESYS, TIMEZERO)."""
        context = table.context()
        time_ref = time_ref_from_header(table.header, context)
        scale = time_unit_from_header(table.header, context)
        zero = (table.float_keyword("TIMEZERO", 0.0) or 0.0) * scale
        start = table.quantity("START", u.s, default_unit=u.Unit(scale * u.s)) + zero
        stop = table.quantity("STOP", u.s, default_unit=u.Unit(scale * u.s)) + zero
        try:
            return cls(
                start,
                stop,
                reference_time=time_ref,
                meta=kept_header(table.header, drop=("TIMEZERO",)),
            )
        except DatasetError as exc:
            raise FormatError(f"{context}: {exc}") from None

    @classmethod
    def read(cls, filename, hdu="GTI", obs_id=None):
        """Read the ``GTI`` HDU of a FITS file."""
        with open_fits(filename, obs_id=obs_id) as hdulist:
            table_hdu = find_table_hdu(hdulist, hdu, filename, obs_id)
            table = FitsTable(table_hdu, filename=filename, obs_id=obs_id)
        return cls.from_fits_table(table)

    # ------------------------------------------------------------------ properties
    def __len__(self):
        return len(self._start)

    @property
    def time_ref(self) -> Time:
        """Reference time of `met_start` / `met_stop`."""
        return self._time_ref

    @property
    def met_start(self) -> u.Quantity:
        """Interval starts in seconds since `time_ref`."""
        return u.Quantity(self._start, u.s)

    @property
    def met_stop(self) -> u.Quantity:
        """Interval stops in seconds since `time_ref`."""
        return u.Quantity(self._stop, u.s)

    @property
    def time_start(self) -> Time:
        """Interval starts (`~astropy.time.Time`, scale of `time_ref`)."""
        return met_to_times(self._start, self._time_ref)

    @property
    def time_stop(self) -> Time:
        """Interval stops (`~astropy.time.Time`, scale of `time_ref`)."""
        return met_to_times(self._stop, self._time_ref)

    @property
    def time_delta(self) -> u.Quantity:
        """Interval durations (s)."""
        return u.Quantity(self._stop - self._start, u.s)

    @property
    def time_sum(self) -> u.Quantity:
        """Total duration (s)."""
        return u.Quantity(float(np.sum(self._stop - self._start)), u.s)

    @property
    def time_intervals(self) -> list:
        """List of ``(start, stop)`` `~astropy.time.Time` pairs."""
        return list(zip(self.time_start, self.time_stop))

    @property
    def table(self) -> Table:
        """Table with START / STOP `~astropy.time.Time` columns (Gammapy's layout)."""
        return Table({"START": self.time_start, "STOP": self.time_stop})

    def met_in(self, time_ref: Time) -> tuple[np.ndarray, np.ndarray]:
        """Starts and stops in seconds since another reference ``time_ref``."""
        return (
            shift_met(self._start, self._time_ref, time_ref),
            shift_met(self._stop, self._time_ref, time_ref),
        )

    def copy(self):
        return GTI(self._start.copy(), self._stop.copy(), self._time_ref, dict(self.meta))

    def __repr__(self):
        return f"GTI(n={len(self)}, duration={self.time_sum.value:.6g} s)"

    def __str__(self):
        if len(self) == 0:
            return "GTI info:\n- Number of GTIs: 0\n"
        start, stop = self.time_start[0], self.time_stop[-1]
        return (
            "GTI info:\n"
            f"- Number of GTIs: {len(self)}\n"
            f"- Duration: {self.time_sum}\n"
            f"- Start: {self._start[0]} s MET\n"
            f"- Start: {start.isot} (time standard: {start.scale.upper()})\n"
            f"- Stop: {self._stop[-1]} s MET\n"
            f"- Stop: {stop.isot} (time standard: {stop.scale.upper()})\n"
        )

    # ------------------------------------------------------------------ selections
    def select_met(self, start, stop) -> GTI:
        """Intervals cut to ``[start, stop]`` seconds since `time_ref` (non-overlapping dropped)."""
        keep = (self._start <= stop) & (self._stop > start)
        new_start = np.clip(self._start[keep], start, stop)
        new_stop = np.clip(self._stop[keep], start, stop)
        return GTI(new_start, new_stop, self._time_ref, dict(self.meta))

    def select_time(self, time_interval) -> GTI:
        """Intervals cut to ``time_interval`` (``Time([start, stop])``), as Gammapy.

        GTIs overlapping the interval are kept and clipped to it; the others are dropped.
        """
        start, stop = interval_to_met(time_interval, self._time_ref)
        return self.select_met(start, stop)

    def delete_interval(self, time_interval) -> GTI:
        """Remove ``time_interval`` from the GTIs (splitting an interval that contains it)."""
        start, stop = interval_to_met(time_interval, self._time_ref)
        new_start, new_stop = [], []
        for a, b in zip(self._start, self._stop):
            if b <= start or a >= stop:
                new_start.append(a)
                new_stop.append(b)
                continue
            if a < start:
                new_start.append(a)
                new_stop.append(start)
            if b > stop:
                new_start.append(stop)
                new_stop.append(b)
        return GTI(new_start, new_stop, self._time_ref, dict(self.meta))

    def union(self, overlap_ok=True, merge_equal=True) -> GTI:
        """Merge overlapping intervals (and touching ones if ``merge_equal``).

        Raises `DatasetError` when ``overlap_ok`` is False and two intervals overlap.
        """
        if len(self) == 0:
            return self.copy()
        order = np.argsort(self._start, kind="stable")
        starts, stops = self._start[order], self._stop[order]
        merged_start, merged_stop = [starts[0]], [stops[0]]
        for a, b in zip(starts[1:], stops[1:]):
            separate = merged_stop[-1] < a if merge_equal else merged_stop[-1] <= a
            if separate:
                merged_start.append(a)
                merged_stop.append(b)
            else:
                if not overlap_ok and merged_stop[-1] > a:
                    raise DatasetError(
                        f"GTI.union: intervals overlap ({merged_stop[-1]} s > {a} s since the "
                        "reference time)"
                    )
                merged_stop[-1] = max(merged_stop[-1], b)
        return GTI(merged_start, merged_stop, self._time_ref, dict(self.meta))

    def intersect(self, other) -> GTI:
        """Times that are good in both ``self`` and ``other`` (a `GTI` or a time interval)."""
        if not isinstance(other, GTI):
            start, stop = interval_to_met(other, self._time_ref)
            other = GTI([start], [stop], self._time_ref)
        a = self.union()
        b_start, b_stop = other.union().met_in(self._time_ref)
        new_start, new_stop = [], []
        for s1, e1 in zip(a._start, a._stop):
            lo = np.maximum(s1, b_start)
            hi = np.minimum(e1, b_stop)
            keep = hi > lo
            new_start.extend(lo[keep])
            new_stop.extend(hi[keep])
        order = np.argsort(new_start, kind="stable")
        return GTI(
            np.asarray(new_start)[order],
            np.asarray(new_stop)[order],
            self._time_ref,
            dict(self.meta),
        )

    def contains_met(self, met) -> np.ndarray:
        """Whether times (seconds since `time_ref`) fall in a GTI (``start <= t < stop``)."""
        met = np.asarray(met, dtype=np.float64)
        inside = np.zeros(met.shape, dtype=bool)
        for a, b in zip(self._start, self._stop):
            inside |= (met >= a) & (met < b)
        return inside

    # ------------------------------------------------------------------ stacking
    def stack(self, other) -> None:
        """Append the intervals of ``other`` in place (no merging)."""
        start, stop = other.met_in(self._time_ref)
        self._start = np.concatenate([self._start, start])
        self._stop = np.concatenate([self._stop, stop])

    @classmethod
    def from_stack(cls, gtis) -> GTI:
        """Concatenate GTIs (reference time of the first)."""
        gtis = list(gtis)
        if not gtis:
            return cls([], [])
        out = gtis[0].copy()
        for gti in gtis[1:]:
            out.stack(gti)
        return out

    # ------------------------------------------------------------------ I/O
    def to_table_hdu(self) -> fits.BinTableHDU:
        """GADF ``GTI`` HDU (seconds since MJDREF of `time_ref`)."""
        table = Table({"START": self.met_start, "STOP": self.met_stop})
        header = {k: v for k, v in self.meta.items() if k not in ("EXTNAME",)}
        header.update(
            {
                "HDUCLASS": "GADF",
                "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
                "HDUVERS": "0.2",
                "HDUCLAS1": "GTI",
                "TIMEUNIT": "s",
                "TIMEREF": header.get("TIMEREF", "LOCAL"),
            }
        )
        header.update(time_ref_to_header(self._time_ref))
        table.meta = header
        return fits.BinTableHDU(table, name="GTI")

    def write(self, filename, overwrite=False):
        path = check_output(filename, overwrite)
        fits.HDUList([fits.PrimaryHDU(), self.to_table_hdu()]).writeto(path, overwrite=overwrite)
