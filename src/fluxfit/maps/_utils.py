"""Small numerical helpers shared by the ``fluxfit.maps`` modules (private).

Everything here works on plain float arrays: coordinate scalings used by the axes,
piecewise-linear interpolation with linear extrapolation, multilinear interpolation on
an integer pixel grid, pixel-to-index rounding and width/bin-size normalisation.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle
from astropy.time import Time

from fluxfit.errors import DatasetError, UnitError

__all__ = [
    "INVALID_INDEX",
    "scale_values",
    "unscale_values",
    "interp_extrapolate",
    "interp_pix_grid",
    "pix_tuple_to_idx",
    "edges_from_lo_hi",
    "check_width",
    "check_binsz",
    "time_ref_from_dict",
    "time_ref_to_dict",
]

#: Index used for coordinates outside a geometry or an axis.
INVALID_INDEX = -1

_TINY = float(np.finfo(np.float32).tiny)
_VALID_INTERP = ("lin", "log", "sqrt")


def _check_interp(interp):
    if interp not in _VALID_INTERP:
        raise DatasetError(f"Invalid interp {interp!r}: expected one of {_VALID_INTERP}")
    return interp


def scale_values(values, interp):
    """Transform coordinates to the space in which an axis is linear.

    Parameters
    ----------
    values : `~numpy.ndarray`
        Coordinate values (plain floats).
    interp : {"lin", "log", "sqrt"}
        Axis scaling. ``log`` clips values at the float32 ``tiny`` like Gammapy.
    """
    values = np.asarray(values, dtype=float)
    if interp == "lin":
        return values
    if interp == "log":
        with np.errstate(invalid="ignore"):
            return np.log(np.clip(values, _TINY, None))
    if interp == "sqrt":
        with np.errstate(invalid="ignore"):
            return np.sqrt(values)
    raise DatasetError(f"Invalid interp {interp!r}: expected one of {_VALID_INTERP}")


def unscale_values(values, interp):
    """Inverse of :func:`scale_values`."""
    values = np.asarray(values, dtype=float)
    if interp == "lin":
        return values
    if interp == "log":
        with np.errstate(over="ignore"):
            return np.exp(values)
    if interp == "sqrt":
        return values**2
    raise DatasetError(f"Invalid interp {interp!r}: expected one of {_VALID_INTERP}")


def interp_extrapolate(x, xp, fp):
    """Piecewise-linear interpolation with linear extrapolation beyond both ends.

    Parameters
    ----------
    x : array-like
        Points to evaluate.
    xp : `~numpy.ndarray`
        Strictly monotonic (increasing or decreasing) sample points.
    fp : `~numpy.ndarray`
        Sample values.

    Returns
    -------
    values : `~numpy.ndarray`
        Interpolated values; NaN where ``x`` is NaN.
    """
    x = np.asarray(x, dtype=float)
    xp = np.asarray(xp, dtype=float)
    fp = np.asarray(fp, dtype=float)
    if xp.size == 1:
        out = np.full(x.shape, fp[0])
        out[np.isnan(x)] = np.nan
        return out
    if xp[0] > xp[-1]:
        xp, fp = xp[::-1], fp[::-1]
    idx = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, xp.size - 2)
    x0, x1 = xp[idx], xp[idx + 1]
    f0, f1 = fp[idx], fp[idx + 1]
    return f0 + (x - x0) * (f1 - f0) / (x1 - x0)


def interp_pix_grid(data, pix, method="linear"):
    """Interpolate an array on its own integer pixel grid.

    Dimensions of length one are ignored (the single value is used for any pixel
    coordinate), other dimensions are interpolated multilinearly with linear
    extrapolation beyond the grid, as `scipy.interpolate.RegularGridInterpolator`
    with ``fill_value=None`` does, but without building an interpolator object.

    Parameters
    ----------
    data : `~numpy.ndarray`
        Array of shape ``(n_k, ..., n_1, n_0)`` (numpy order).
    pix : tuple of array-like
        Pixel coordinates ``(p_0, p_1, ..., p_k)`` (reverse of the numpy order,
        i.e. ``(x, y, axis0, ...)`` for a map). Arrays are broadcast.
    method : {"linear", "nearest"}
        Interpolation method.

    Returns
    -------
    values : `~numpy.ndarray`
        Interpolated values with the broadcast shape of ``pix``; NaN where a pixel
        coordinate of a dimension longer than one is NaN. Non-finite data values are
        treated as zero.
    """
    data_t = np.asarray(data).T
    if len(pix) != data_t.ndim:
        raise DatasetError(
            f"Interpolation needs {data_t.ndim} pixel coordinate arrays, got {len(pix)}"
        )
    pix = np.broadcast_arrays(*[np.asarray(p, dtype=float) for p in pix])
    shape = pix[0].shape if pix else ()
    invalid = np.zeros(shape, dtype=bool)
    for p, n in zip(pix, data_t.shape):
        if n > 1:
            invalid |= ~np.isfinite(p)

    values = data_t.astype(float, copy=True)
    values[~np.isfinite(values)] = 0.0

    if method == "nearest":
        idx = []
        for p, n in zip(pix, data_t.shape):
            p = np.where(np.isfinite(p), p, 0.0)
            idx.append(np.clip(np.floor(p + 0.5), 0, n - 1).astype(int))
        out = values[tuple(idx)]
    elif method == "linear":
        lower, weights = [], []
        for p, n in zip(pix, data_t.shape):
            p = np.where(np.isfinite(p), p, 0.0)
            if n == 1:
                lower.append(np.zeros(shape, dtype=int))
                weights.append(None)
                continue
            i0 = np.clip(np.floor(p), 0, n - 2).astype(int)
            lower.append(i0)
            weights.append(p - i0)
        out = np.zeros(shape)
        active = [k for k, w in enumerate(weights) if w is not None]
        for corner in range(2 ** len(active)):
            idx = list(lower)
            weight = np.ones(shape)
            for bit, k in enumerate(active):
                if (corner >> bit) & 1:
                    idx[k] = lower[k] + 1
                    weight = weight * weights[k]
                else:
                    weight = weight * (1.0 - weights[k])
            out = out + weight * values[tuple(idx)]
    else:
        raise DatasetError(f"Invalid interpolation method {method!r}: use 'linear' or 'nearest'")

    out = np.array(out, dtype=float)
    out[invalid] = np.nan
    return out


def pix_tuple_to_idx(pix):
    """Round pixel coordinates to integer indices (``floor(p + 0.5)``).

    Integer arrays are passed through; non-finite coordinates map to -1.
    """
    idx = []
    for p in pix:
        p = np.array(p, ndmin=1)
        if np.issubdtype(p.dtype, np.integer):
            idx.append(p)
            continue
        finite = np.isfinite(p)
        p_idx = np.floor(np.where(finite, p, 0.0) + 0.5).astype(int)
        p_idx[~finite] = INVALID_INDEX
        idx.append(p_idx)
    return tuple(idx)


def edges_from_lo_hi(edges_lo, edges_hi):
    """Contiguous edges from lower and upper bin bounds (Quantity or array)."""
    edges_lo = u.Quantity(edges_lo)
    edges_hi = u.Quantity(edges_hi).to(edges_lo.unit)
    if edges_lo.isscalar:
        return u.Quantity([edges_lo, edges_hi])
    return np.append(edges_lo.value, edges_hi.value[-1]) * edges_lo.unit


def _to_deg(value, what):
    try:
        return Angle(value, "deg").deg
    except (u.UnitsError, u.UnitTypeError, ValueError, TypeError) as exc:
        raise UnitError(f"{what} {value!r} is not an angle: {exc}") from exc


def check_width(width):
    """Normalise a map width to a ``(lon, lat)`` tuple of floats in degrees.

    Accepts a float (degrees), a string (``"3 deg"``), an angular Quantity (scalar or
    two values) or a tuple of any of these.
    """
    if isinstance(width, tuple):
        return float(_to_deg(width[0], "width")), float(_to_deg(width[1], "width"))
    angle = _to_deg(width, "width")
    if np.isscalar(angle) or np.ndim(angle) == 0:
        return float(angle), float(angle)
    angle = np.asarray(angle, dtype=float).ravel()
    return float(angle[0]), float(angle[1])


def check_binsz(binsz):
    """Normalise a bin size to float degrees (a ``(lon, lat)`` tuple if a tuple is given)."""
    if isinstance(binsz, tuple):
        return float(_to_deg(binsz[0], "binsz")), float(_to_deg(binsz[1], "binsz"))
    return float(_to_deg(binsz, "binsz"))


def time_ref_from_dict(meta, scale="tt"):
    """Reference time from FITS keys ``MJDREFI``, ``MJDREFF`` (or ``MJDREF``) and ``TIMESYS``."""
    scale = str(meta.get("TIMESYS", scale)).lower()
    if "MJDREFI" in meta:
        mjdrefi = float(meta["MJDREFI"])
        mjdreff = float(str(meta.get("MJDREFF", 0.0)).replace("D", "e"))
    elif "MJDREF" in meta:
        mjdrefi, mjdreff = float(meta["MJDREF"]), 0.0
    else:
        raise KeyError("MJDREFI")
    return Time(mjdrefi, mjdreff, format="mjd", scale=scale)


def time_ref_to_dict(time, scale="tt"):
    """FITS keys ``MJDREFI``, ``MJDREFF``, ``TIMESYS`` for a reference time."""
    time = Time(time)
    time = getattr(time, scale)
    mjd_int = np.floor(time.jd1 - 2400000.5 + time.jd2)
    mjd_frac = (time.jd1 - 2400000.5 - mjd_int) + time.jd2
    return {"MJDREFI": int(mjd_int), "MJDREFF": float(mjd_frac), "TIMESYS": scale}
