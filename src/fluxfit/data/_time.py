"""Time references of GADF files: MJDREFI/MJDREFF (or MJDREF), TIMESYS, TIMEUNIT, TIMEREF.

Times are held as float64 seconds ("MET") since a reference `~astropy.time.Time`; they become
`~astropy.time.Time` objects only on request. Elapsed seconds are physical seconds whatever the
scale of the reference (astropy adds them in TAI for a UTC reference), so intervals from
different files or scales compare exactly once converted to the same reference.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.time import Time

from fluxfit.errors import FormatError, UnitError

__all__ = [
    "TIME_REF_DEFAULT",
    "time_ref_from_header",
    "time_ref_to_header",
    "time_unit_from_header",
    "times_to_met",
    "met_to_times",
]

#: Reference used when none is given (as Gammapy's GTI default: 2000-01-01 TT).
TIME_REF_DEFAULT = Time("2000-01-01T00:00:00", scale="tt")

_SCALES = {"tt": "tt", "tai": "tai", "utc": "utc", "tdb": "tdb", "tcg": "tcg", "tcb": "tcb"}


def time_ref_from_header(header, context: str, default=None) -> Time:
    """Reference time from ``MJDREFI`` + ``MJDREFF`` (or ``MJDREF``) in scale ``TIMESYS``.

    Raises
    ------
    FormatError
        Missing or non-numeric keywords, or an unknown ``TIMESYS`` (the message names them).
    """
    timesys = str(header.get("TIMESYS", "TT")).strip().lower()
    if timesys not in _SCALES:
        raise FormatError(
            f"{context}: header keyword 'TIMESYS' = {header.get('TIMESYS')!r} is not a "
            f"supported time scale {sorted(k.upper() for k in _SCALES)}"
        )

    def number(key):
        value = header[key]
        try:
            if isinstance(value, str):
                value = value.strip().replace("D", "E").replace("d", "e")
            return float(value)
        except (TypeError, ValueError):
            raise FormatError(
                f"{context}: header keyword {key!r} = {header[key]!r} is not a number"
            ) from None

    if "MJDREFI" in header:
        mjd_int = number("MJDREFI")
        mjd_frac = number("MJDREFF") if "MJDREFF" in header else 0.0
    elif "MJDREF" in header:
        value = number("MJDREF")
        mjd_int = float(np.floor(value))
        mjd_frac = value - mjd_int
    elif default is not None:
        return default
    else:
        raise FormatError(f"{context}: missing header keyword 'MJDREFI' (or 'MJDREF')")
    return Time(mjd_int, mjd_frac, format="mjd", scale=_SCALES[timesys])


def time_ref_to_header(time_ref: Time) -> dict:
    """``MJDREFI``, ``MJDREFF``, ``TIMESYS`` of a reference time (kept in its own scale)."""
    scale = time_ref.scale
    jd1, jd2 = time_ref.jd1 - 2400000.5, time_ref.jd2
    mjd_int = np.floor(jd1 + jd2)
    mjd_frac = (jd1 - mjd_int) + jd2
    return {"MJDREFI": int(mjd_int), "MJDREFF": float(mjd_frac), "TIMESYS": scale.upper()}


def time_unit_from_header(header, context: str) -> float:
    """Seconds per unit of ``TIMEUNIT`` (default ``s``)."""
    unit = str(header.get("TIMEUNIT", "s")).strip() or "s"
    try:
        return u.Unit(unit).to(u.s)
    except (ValueError, u.UnitConversionError):
        raise UnitError(
            f"{context}: header keyword 'TIMEUNIT' = {unit!r} is not a time unit"
        ) from None


def times_to_met(times, time_ref: Time) -> np.ndarray:
    """Seconds since ``time_ref`` (float64 ndarray) of `~astropy.time.Time` values."""
    times = Time(times)
    if times.scale != time_ref.scale:
        times = getattr(times, time_ref.scale)
    return np.asarray((times - time_ref).to_value(u.s), dtype=np.float64)


def met_to_times(met, time_ref: Time) -> Time:
    """`~astropy.time.Time` (in the scale of ``time_ref``) of seconds since ``time_ref``."""
    return time_ref + u.Quantity(np.asarray(met, dtype=np.float64), u.s)


def shift_met(met, from_ref: Time, to_ref: Time) -> np.ndarray:
    """Seconds since ``from_ref`` re-expressed as seconds since ``to_ref``."""
    met = np.asarray(met, dtype=np.float64)
    if from_ref is to_ref or (
        from_ref.scale == to_ref.scale and from_ref.jd1 == to_ref.jd1 and from_ref.jd2 == to_ref.jd2
    ):
        return met
    return met + float(times_to_met(from_ref, to_ref))
