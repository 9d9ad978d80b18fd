"""IRF values projected on sky positions: exposure, background, FoV coordinates.

The building blocks shared by `SpectrumDatasetMaker` (one position: the ON region) and
`MapDatasetMaker` (every pixel), all vectorised over positions and energies:

- `prepare_background_irf`: Gammapy's pre-processing of a background IRF before projection
  (zeros and non-finite values inside the energy range interpolated in log along energy;
  a 2-D background padded by one offset bin with the edge values);
- `fov_coordinates`: field-of-view coordinates of sky positions relative to the pointing
  in the IRF's alignment (``RADEC`` or ``REVERSE_LON_RADEC``);
- `background_rate`: background rate integrated over reconstructed-energy bins (log-log
  trapezoid) at those coordinates (s-1 sr-1).
"""

from __future__ import annotations

import itertools

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from fluxfit.errors import DatasetError

from .core import IdentityCache

__all__ = ["prepare_background_irf", "fov_coordinates", "background_rate"]

_PREPARED = IdentityCache(maxsize=64)


def _interp_missing_along(data, axis, log_scale=True) -> np.ndarray:
    """Gammapy's ``IRF.interp_missing_data``: fill zeros/NaNs between valid values along ``axis``."""
    data = np.array(data, dtype=float, copy=True)
    mask = ~np.isfinite(data) | (data == 0.0)
    if not mask.any():
        return data
    moved = np.moveaxis(data, axis, -1)
    moved_mask = np.moveaxis(mask, axis, -1)
    xp = np.arange(moved.shape[-1])
    tiny = np.finfo(np.float64).tiny
    for index in zip(*np.nonzero(moved_mask.any(axis=-1))):
        row = moved[index]
        valid = ~moved_mask[index]
        if not valid.any():
            continue
        values = np.log(np.clip(row[valid], tiny, np.inf)) if log_scale else row[valid]
        missing = np.flatnonzero(~valid)
        filled = np.interp(missing, xp[valid], values, left=np.nan, right=np.nan)
        good = ~np.isnan(filled)
        if log_scale:
            out = np.exp(filled[good])
            out = np.where(np.abs(out) - tiny <= tiny, 0.0, out)
        else:
            out = filled[good]
        row[missing[good]] = out
    return np.moveaxis(moved, -1, axis)


def prepare_background_irf(bkg, interp_missing_data=True, pad_offset=True):
    """The background IRF as Gammapy's makers use it (a new object; the input is unchanged).

    Parameters
    ----------
    bkg : `~fluxfit.irf.gadf.Background3D` or `~fluxfit.irf.gadf.Background2D`
    interp_missing_data : bool
        Interpolate zero and non-finite values along energy (log scale), between valid
        values only.
    pad_offset : bool
        For a 2-D background, add one offset bin at each end with the edge values (so that
        it is not extrapolated beyond the last bin centre).
    """
    key = (bool(interp_missing_data), bool(pad_offset))

    def compute():
        data = np.asarray(bkg.data, dtype=float)
        axes = list(bkg.axes)
        if interp_missing_data:
            data = _interp_missing_along(data, bkg.axes.names.index("energy"))
        if pad_offset and "offset" in bkg.axes.names:
            index = bkg.axes.names.index("offset")
            width = [(0, 0)] * data.ndim
            width[index] = (1, 1)
            data = np.pad(data, width, mode="edge")
            axes[index] = bkg.axes["offset"].pad(1)
        return type(bkg)(
            axes,
            data=data,
            unit=bkg.unit,
            meta=bkg.meta,
            is_pointlike=bkg.is_pointlike,
            fov_alignment=bkg.fov_alignment,
        )

    return _PREPARED.get((bkg,), key, compute)


def fov_coordinates(bkg, pointing: SkyCoord, positions: SkyCoord) -> dict:
    """Coordinates for evaluating ``bkg`` at sky ``positions`` of an observation at ``pointing``.

    ``offset`` for a 2-D background; ``fov_lon``/``fov_lat`` (deg) otherwise, with the
    longitude increasing with right ascension for ``REVERSE_LON_RADEC`` (H.E.S.S. DR1) and
    decreasing for ``RADEC``.
    """
    if "offset" in bkg.axes.names:
        return {"offset": positions.separation(pointing)}
    alignment = str(bkg.fov_alignment).upper()
    if alignment not in ("RADEC", "REVERSE_LON_RADEC"):
        raise DatasetError(
            f"background IRF with FoV alignment {alignment} (ALTAZ) is not supported: the "
            "AltAz rotation during the observation would be needed"
        )
    offset = positions.icrs.transform_to(pointing.icrs.skyoffset_frame())
    lon = offset.lon.wrap_at(180 * u.deg).deg
    sign = 1.0 if alignment == "REVERSE_LON_RADEC" else -1.0
    return {"fov_lon": sign * lon * u.deg, "fov_lat": offset.lat.deg * u.deg}


def background_rate(bkg, energy_edges_tev, coords: dict, oversampling=None) -> np.ndarray:
    """Background rate integrated over energy bins (s-1 sr-1): shape ``(n_bins, *coords shape)``.

    With ``oversampling`` each bin is split into that many log bins, integrated and summed.
    """
    edges = np.asarray(energy_edges_tev, dtype=float)
    factor = int(oversampling or 1)
    if factor > 1:
        fine = np.concatenate(
            [np.geomspace(lo, hi, factor + 1)[:-1] for lo, hi in itertools.pairwise(edges)]
            + [edges[-1:]]
        )
    else:
        fine = edges
    shape = np.broadcast_shapes(*(np.shape(v) for v in coords.values()))
    rate = bkg.integrate_energy(fine * u.TeV, **coords).to_value(u.s**-1 * u.sr**-1)
    rate = np.asarray(rate, dtype=float).reshape((fine.size - 1, *shape))
    if factor > 1:
        rate = rate.reshape((edges.size - 1, factor, *shape)).sum(axis=1)
    return rate
