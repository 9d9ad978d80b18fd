"""Multilinear interpolation on IRF grids, with Gammapy's scaling choices.

`ScaledGridInterpolator` reproduces ``gammapy.utils.interpolation.ScaledRegularGridInterpolator``
as the IRF classes use it: node coordinates are scaled per axis (``lin``, ``log``, ``sqrt``), the
values are scaled (``lin`` or ``log``), `scipy.interpolate.RegularGridInterpolator` interpolates
(and extrapolates linearly outside the nodes), the result is scaled back and clipped at zero.
Axes with a single node are ignored (the value does not depend on that coordinate).

For ``values_scale="log"`` zeros are clipped to the smallest positive number of the stored data
type before the logarithm (float32 tables give ``log(1.2e-38)``), exactly as Gammapy does, and
results within that tiny number of zero are set to zero.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from fluxfit.errors import DatasetError

__all__ = ["ScaledGridInterpolator", "scale_points"]


def scale_points(values, interp):
    """Axis coordinates in the scale in which the interpolation is linear."""
    values = np.asarray(values, dtype=np.float64)
    if interp in ("lin", "linear"):
        return values
    if interp == "log":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(values)
    if interp == "sqrt":
        return np.sign(values) * np.sqrt(np.abs(values))
    raise DatasetError(f"unknown interpolation scale {interp!r}, use 'lin', 'log' or 'sqrt'")


def _tiny_for(array):
    dtype = np.asarray(array).dtype
    if np.issubdtype(dtype, np.floating):
        return np.finfo(dtype).tiny
    return np.finfo(np.float32).tiny


class ScaledGridInterpolator:
    """Interpolate gridded values (one node per bin centre) at arbitrary coordinates.

    Parameters
    ----------
    points : list of 1-D arrays
        Node coordinates of each axis (plain floats, in the axis unit), increasing.
    values : `~numpy.ndarray`
        Values of shape ``tuple(len(p) for p in points)``.
    points_scale : list of str
        ``"lin"``, ``"log"`` or ``"sqrt"`` per axis.
    values_scale : {"lin", "log"}
        Scale of the values.

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.irf.gadf._interp import ScaledGridInterpolator
    >>> interp = ScaledGridInterpolator([np.array([1.0, 10.0])], np.array([0.0, 1.0]), ["log"])
    >>> float(interp((np.array(np.sqrt(10.0)),)))
    0.5
    """

    def __init__(self, points, values, points_scale, values_scale="lin"):
        values = np.asarray(values)
        shape = tuple(len(p) for p in points)
        if values.shape != shape:
            raise DatasetError(f"values shape {values.shape} does not match the grid {shape}")
        self._points_scale = list(points_scale)
        self._values_scale = values_scale
        self._include = [len(p) > 1 for p in points]
        self._points = [scale_points(p, s) for p, s in zip(points, self._points_scale)]
        if values_scale == "log":
            tiny = _tiny_for(values)
            with np.errstate(divide="ignore", invalid="ignore"):
                scaled = np.log(np.clip(values, tiny, np.inf))
        elif values_scale in ("lin", "linear"):
            scaled = values
        else:
            raise DatasetError(f"unknown values scale {values_scale!r}, use 'lin' or 'log'")
        self._values = scaled
        self._rgi = None

    def _interpolator(self):
        if self._rgi is None:
            points = [p for p, keep in zip(self._points, self._include) if keep]
            values = np.squeeze(self._values) if any(self._include) else self._values
            if points:
                values = values.reshape([len(p) for p in points])
                self._rgi = RegularGridInterpolator(
                    tuple(points), values, method="linear", bounds_error=False, fill_value=None
                )
        return self._rgi

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_rgi"] = None
        return state

    def __call__(self, coords, method="linear", clip=True):
        """Values at ``coords`` (tuple of broadcastable arrays, one per axis, plain floats)."""
        arrays = np.broadcast_arrays(*[np.asarray(c, dtype=np.float64) for c in coords])
        shape = arrays[0].shape if arrays else ()
        if not any(self._include):
            out = np.full(shape, float(np.ravel(self._values)[0]))
        else:
            scaled = [
                scale_points(a, s)
                for a, s, keep in zip(arrays, self._points_scale, self._include)
                if keep
            ]
            xi = np.stack([s.ravel() for s in scaled], axis=-1)
            out = self._interpolator()(xi, method=method or "linear").reshape(shape)
        if self._values_scale == "log":
            out = np.exp(out)
            tiny = np.finfo(out.dtype).tiny
            out = np.where(np.abs(out) - tiny <= tiny, 0.0, out)
        if clip:
            out = np.clip(out, 0.0, np.inf)
        return out
