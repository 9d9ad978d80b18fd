"""What the makers share: the `Maker` base, an identity cache, event geometry and GTI helpers.

The makers reduce one observation (or a time piece of one) at a time, as Gammapy's do. What
depends only on the observation's instrument response and pointing (exposure per unit live
time, energy dispersion, reflected OFF regions, safe energy thresholds) is the same for all
the time pieces of a run: it is computed once and kept in a small cache keyed by the
*identity* of the IRF objects (pieces share them, see `fluxfit.data.Observation.select_time`),
so cutting 21 runs into 34 pieces costs 21 IRF evaluations, not 34.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.time import Time
from regions import PixCoord, PixelRegion

from fluxfit.datasets.ogip import GoodTimeIntervals
from fluxfit.errors import DatasetError

__all__ = [
    "Maker",
    "IdentityCache",
    "gti_to_ogip",
    "observation_meta",
    "energy_counts",
    "event_lonlat",
    "region_contains_lonlat",
    "wcs_frame",
]

#: Header keywords of the events HDU copied into a reduced dataset's ``meta``.
META_KEYS = ("OBS_ID", "TELESCOP", "INSTRUME", "OBJECT", "RA_PNT", "DEC_PNT", "DEADC")


class Maker(ABC):
    """Base class of the makers: ``run(dataset, observation) -> dataset``."""

    tag = "Maker"

    @abstractmethod
    def run(self, dataset, observation):
        """The dataset with this maker's quantities filled from ``observation``."""

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({options})"


class IdentityCache:
    """A small LRU cache keyed by the identity of objects (kept alive while cached).

    ``get(objects, extra, compute)`` returns ``compute()`` for the tuple of ``objects``
    (compared with ``is``) and the hashable ``extra`` key, computing it once.
    """

    def __init__(self, maxsize: int = 128):
        self.maxsize = int(maxsize)
        self._data: OrderedDict = OrderedDict()

    def get(self, objects, extra, compute):
        key = (tuple(id(o) for o in objects), extra)
        hit = self._data.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], objects)):
            self._data.move_to_end(key)
            return hit[1]
        value = compute()
        self._data[key] = (tuple(objects), value)
        if len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __getstate__(self):
        return {"maxsize": self.maxsize, "_data": OrderedDict()}


# ------------------------------------------------------------------------------ GTI and meta
def gti_to_ogip(gti) -> GoodTimeIntervals:
    """A `fluxfit.data.GTI` as the `~fluxfit.datasets.GoodTimeIntervals` a dataset carries.

    START/STOP stay in seconds since the GTI's reference time, written to the header as
    ``MJDREFI``/``MJDREFF`` (split so that no precision is lost), ``TIMESYS`` and ``TIMEUNIT``.
    """
    ref = gti.time_ref
    header = fits.Header()
    header["MJDREFI"], header["MJDREFF"] = _split_mjd(ref)
    header["TIMESYS"] = ref.scale.upper()
    header["TIMEUNIT"] = "s"
    header["TIMEREF"] = "LOCAL"
    return GoodTimeIntervals(
        start=np.asarray(gti.met_start.to_value(u.s), dtype=float),
        stop=np.asarray(gti.met_stop.to_value(u.s), dtype=float),
        header=header,
    )


def _split_mjd(time: Time) -> tuple[int, float]:
    """(integer MJD, fraction of day) of a Time, in its own scale, to full precision."""
    jd1, jd2 = float(time.jd1), float(time.jd2)
    # MJD = JD - 2400000.5, computed as (jd1 - 2400000.5) + jd2 with the day split off
    day = jd1 - 2400000.5
    whole = np.floor(day)
    frac = (day - whole) + jd2
    shift = np.floor(frac)
    return int(whole + shift), float(frac - shift)


def observation_meta(observation) -> dict:
    """Header keywords of the observation kept in the dataset's ``meta`` (OBS_ID, ...)."""
    meta = {}
    header = observation.meta
    for key in META_KEYS:
        if key in header:
            meta[key] = header[key]
    if observation.obs_id is not None:
        meta["OBS_ID"] = observation.obs_id
    return meta


# ---------------------------------------------------------------------------- event geometry
def wcs_frame(wcs) -> str:
    """``"icrs"`` or ``"galactic"``: the celestial frame of a WCS (from CTYPE)."""
    ctype = str(wcs.wcs.ctype[0]).upper()
    if ctype.startswith("RA"):
        return "icrs"
    if ctype.startswith("GLON"):
        return "galactic"
    raise DatasetError(f"unsupported WCS celestial frame with CTYPE1 = {ctype!r}")


def event_lonlat(events, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """Event longitudes and latitudes (deg) in ``frame`` ("icrs" or "galactic")."""
    if frame == "icrs":
        return events.ra_deg, events.dec_deg
    coords = SkyCoord(events.ra_deg, events.dec_deg, unit="deg", frame="icrs").transform_to(frame)
    return coords.spherical.lon.deg, coords.spherical.lat.deg


def region_contains_lonlat(region, wcs, lon, lat, pix=None) -> np.ndarray:
    """Whether positions lie in a sky region, as ``region.contains(skycoord, wcs)`` decides.

    The positions (deg, in the WCS's frame) are projected once with ``wcs`` (or ``pix`` =
    their pixel coordinates is given) and tested against the region in pixel space, which
    is what `regions` does, without building `~astropy.coordinates.SkyCoord` objects.
    ``region`` may already be the pixel region on ``wcs`` (saves its conversion).
    """
    if np.size(lon) == 0:
        return np.zeros(0, dtype=bool)
    if pix is None:
        pix = wcs.wcs_world2pix(lon, lat, 0)
    region_pix = region if isinstance(region, PixelRegion) else region.to_pixel(wcs)
    return np.asarray(region_pix.contains(PixCoord(pix[0], pix[1])), dtype=bool)


def energy_counts(energy_tev, edges_tev) -> np.ndarray:
    """Counts per energy bin ``[lo, hi)`` (float64), as `fluxfit.data.EventList.counts_by_energy`."""
    edges_tev = np.asarray(edges_tev, dtype=float)
    index = np.searchsorted(edges_tev, np.asarray(energy_tev, dtype=float), side="right") - 1
    valid = (index >= 0) & (index < edges_tev.size - 1)
    return np.bincount(index[valid], minlength=edges_tev.size - 1).astype(np.float64)
