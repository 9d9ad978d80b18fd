"""`Observation` (events, GTI and IRFs of one run, read lazily) and `Observations` (a list).

An observation from a `~fluxfit.data.DataStore` knows where its HDUs are and reads each one
the first time it is used; what was read is cached in an object shared with the time pieces
made from it (`Observation.select_time`), so cutting 21 runs into 34 pieces reads every file
once. A missing file raises `~fluxfit.errors.MissingFileError`, a missing HDU (in the index or
in the file) a `~fluxfit.errors.FormatError`, both naming the observation, the file and the HDU.

Time pieces follow Gammapy 2.1: the events are those with ``start <= t < stop``, the GTIs are
clipped to the interval, and the live time is the GTI duration times ``1 - dead-time
fraction`` (``DEADC`` of the events header).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import MutableSequence

import astropy.units as u
import numpy as np
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from fluxfit.errors import DatasetError, FormatError

from ._time import time_ref_from_header, times_to_met
from .event_list import EventList
from .gti import GTI, interval_to_met

__all__ = ["Observation", "Observations", "IRF_TYPES"]

log = logging.getLogger(__name__)

#: The IRF HDU types of an observation.
IRF_TYPES = ("aeff", "edisp", "psf", "bkg", "rad_max")

_HDU_TYPES = ("events", "gti", *IRF_TYPES)


class _ObservationSource:
    """Reads the HDUs of one observation on first use and caches them (shared by pieces)."""

    def __init__(self, obs_id, locations, index_file=""):
        self.obs_id = obs_id
        self.locations = dict(locations)
        self.index_file = index_file
        self.cache = {}

    def has(self, hdu_type) -> bool:
        return hdu_type in self.locations

    def describe_missing(self, hdu_type) -> str:
        files = sorted({str(loc.path) for loc in self.locations.values()})
        return (
            f"observation {self.obs_id}: no {hdu_type!r} HDU in the HDU index "
            f"'{self.index_file}' (HDU types present: {sorted(self.locations)}; files: {files})"
        )

    def get(self, hdu_type):
        if hdu_type not in self.cache:
            location = self.locations.get(hdu_type)
            if location is None:
                raise FormatError(self.describe_missing(hdu_type))
            self.cache[hdu_type] = location.load()
        return self.cache[hdu_type]

    def header(self) -> dict:
        if "header" not in self.cache:
            if "events" in self.cache:
                self.cache["header"] = dict(self.cache["events"].meta)
            elif "events" in self.locations:
                self.cache["header"] = self.locations["events"].read_header()
            else:
                self.cache["header"] = {}
        return self.cache["header"]


def _latest(a: Time, b: Time) -> Time:
    return a if a >= b else b


def _earliest(a: Time, b: Time) -> Time:
    return a if a <= b else b


class Observation:
    """One observation: events, good time intervals and instrument response.

    Observations normally come from `~fluxfit.data.DataStore.get_observations`; this
    constructor makes in-memory ones (e.g. for simulations, see `Observation.create`).

    Parameters
    ----------
    obs_id : int, optional
    events : `~fluxfit.data.EventList`, optional
    gti : `~fluxfit.data.GTI`, optional
    aeff, edisp, psf, bkg, rad_max : IRFs, optional
        `~fluxfit.irf.gadf` objects.
    meta : dict, optional
        Header-like keywords (``RA_PNT``, ``DEC_PNT``, ``DEADC``, ``RA_OBJ``...); for a
        stored observation the events header is used.
    pointing : `~astropy.coordinates.SkyCoord`, optional
        Pointing direction (default RA_PNT / DEC_PNT).
    location : `~astropy.coordinates.EarthLocation`, optional

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.time import Time
    >>> from fluxfit.data import Observation
    >>> obs = Observation.create(SkyCoord(83.6, 22.0, unit="deg"), livetime=30 * u.min,
    ...                          deadtime_fraction=0.1, tstart=Time("2020-01-01T00:00"))
    >>> obs.observation_live_time_duration.to("min")
    <Quantity 27. min>
    >>> piece = obs.select_time(Time(["2020-01-01T00:20", "2020-01-01T02:00"]))
    >>> piece.observation_time_duration.to("min").round(6)
    <Quantity 10. min>
    """

    def __init__(
        self,
        obs_id=None,
        events=None,
        gti=None,
        aeff=None,
        edisp=None,
        psf=None,
        bkg=None,
        rad_max=None,
        meta=None,
        pointing=None,
        location=None,
    ):
        self.obs_id = obs_id
        given = dict(events=events, gti=gti, aeff=aeff, edisp=edisp, psf=psf, bkg=bkg)
        given["rad_max"] = rad_max
        self._memory = {k: v for k, v in given.items() if v is not None}
        if events is not None and not isinstance(events, EventList):
            raise DatasetError(f"events must be an EventList, got {type(events).__name__}")
        if gti is not None and not isinstance(gti, GTI):
            raise DatasetError(f"gti must be a GTI, got {type(gti).__name__}")
        self._meta = dict(meta or {})
        self._pointing = pointing
        self._location = location
        self._source = None
        self._interval = None
        self._cache = {}

    @classmethod
    def _from_source(cls, source: _ObservationSource) -> Observation:
        obs = cls(obs_id=source.obs_id)
        obs._source = source
        return obs

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        pointing,
        livetime=None,
        tstart=None,
        tstop=None,
        irfs=None,
        deadtime_fraction=0.0,
        reference_time=None,
        obs_id=0,
        location=None,
    ) -> Observation:
        """In-memory observation for simulations (Gammapy's ``Observation.create``).

        Give ``tstop`` or the duration ``livetime`` (the GTI spans ``tstart`` to ``tstart +
        livetime``; the live time is then ``livetime * (1 - deadtime_fraction)``).
        ``tstart``/``tstop`` are `~astropy.time.Time` or durations after ``reference_time``
        (default 2000-01-01 00:00:00 UTC, as Gammapy).
        """
        if reference_time is None:
            reference_time = Time("2000-01-01 00:00:00")
        reference_time = Time(reference_time)
        if tstart is None:
            tstart = reference_time
        elif not isinstance(tstart, Time):
            tstart = reference_time + u.Quantity(tstart)
        if tstop is None:
            if livetime is None:
                raise DatasetError("Observation.create: give livetime or tstop")
            tstop = tstart + u.Quantity(livetime)
        elif not isinstance(tstop, Time):
            tstop = reference_time + u.Quantity(tstop)
        gti = GTI.create(tstart, tstop, reference_time=reference_time)
        pointing = SkyCoord(pointing).icrs
        meta = {
            "RA_PNT": float(pointing.ra.deg),
            "DEC_PNT": float(pointing.dec.deg),
            "DEADC": 1.0 - float(deadtime_fraction),
        }
        irfs = dict(irfs or {})
        unknown = set(irfs).difference(IRF_TYPES)
        if unknown:
            raise DatasetError(f"Observation.create: unknown IRF(s) {sorted(unknown)}")
        return cls(obs_id=obs_id, gti=gti, meta=meta, pointing=pointing, location=location, **irfs)

    # ------------------------------------------------------------------ HDU access
    def _get(self, hdu_type):
        if hdu_type in self._memory:
            return self._memory[hdu_type]
        if self._source is not None:
            return self._source.get(hdu_type)
        raise FormatError(f"observation {self.obs_id}: no {hdu_type!r} (in-memory observation)")

    def _has(self, hdu_type) -> bool:
        return hdu_type in self._memory or (self._source is not None and self._source.has(hdu_type))

    @property
    def available_hdus(self) -> list[str]:
        """HDU types this observation has (``events``, ``gti``, ``aeff``...)."""
        return [name for name in _HDU_TYPES if self._has(name)]

    @property
    def available_irfs(self) -> list[str]:
        """IRF types this observation has (``aeff``, ``edisp``, ``psf``, ``bkg``, ``rad_max``)."""
        return [name for name in IRF_TYPES if self._has(name)]

    def hdu_location(self, hdu_type):
        """`~fluxfit.data.HDULocation` of an HDU (None for in-memory data)."""
        if self._source is None:
            return None
        return self._source.locations.get(hdu_type)

    @property
    def meta(self) -> dict:
        """Header keywords: the events header (stored observations) updated with ``meta``."""
        header = dict(self._source.header()) if self._source is not None else {}
        header.update(self._meta)
        return header

    def _header_context(self) -> str:
        location = self.hdu_location("events")
        if location is not None:
            return f"file '{location.path}', HDU {location.hdu_name!r} (obs_id {self.obs_id})"
        return f"observation {self.obs_id}"

    # ------------------------------------------------------------------ data
    @property
    def events(self) -> EventList:
        """Events (restricted to the time interval of a piece)."""
        if "events" not in self._cache:
            events = self._get("events")
            if self._interval is not None:
                events = events.select_met(*self._interval_met(events.time_ref))
            self._cache["events"] = events
        return self._cache["events"]

    @property
    def gti(self) -> GTI:
        """Good time intervals (clipped to the time interval of a piece)."""
        if "gti" not in self._cache:
            if self._has("gti"):
                gti = self._get("gti")
            elif self._has("events"):
                gti = self._gti_from_events_header()
            else:
                raise FormatError(f"observation {self.obs_id}: no GTI and no events")
            if self._interval is not None:
                gti = gti.select_met(*self._interval_met(gti.time_ref))
            self._cache["gti"] = gti
        return self._cache["gti"]

    def _gti_from_events_header(self) -> GTI:
        header = self.meta
        context = self._header_context()
        for key in ("TSTART", "TSTOP"):
            if key not in header:
                raise FormatError(f"{context}: no GTI HDU and no {key!r} header keyword")
        log.warning("%s: no GTI HDU, using TSTART-TSTOP of the events header", context)
        time_ref = time_ref_from_header(header, context)
        return GTI([float(header["TSTART"])], [float(header["TSTOP"])], reference_time=time_ref)

    def _interval_met(self, time_ref) -> tuple[float, float]:
        key = (time_ref.scale, float(time_ref.jd1), float(time_ref.jd2))
        cache = self._cache.setdefault("interval_met", {})
        if key not in cache:
            cache[key] = interval_to_met(self._interval, time_ref)
        return cache[key]

    @property
    def aeff(self):
        """Effective area (`~fluxfit.irf.gadf.EffectiveAreaTable2D`)."""
        return self._get("aeff")

    @property
    def edisp(self):
        """Energy dispersion (`~fluxfit.irf.gadf.EnergyDispersion2D`)."""
        return self._get("edisp")

    @property
    def psf(self):
        """PSF (`~fluxfit.irf.gadf.PSFTable` or `~fluxfit.irf.gadf.PSF3Gauss`)."""
        return self._get("psf")

    @property
    def bkg(self):
        """Background model (`~fluxfit.irf.gadf.Background3D` / `Background2D`).

        For the H.E.S.S. DR1 files (``CREATOR = 'SASH FITS::EventListWriter'``, ``HDUVERS =
        '0.2'``) its FoV alignment is set to ``REVERSE_LON_RADEC``, as Gammapy does.
        """
        bkg = self._get("bkg")
        header = self.meta
        creator = str(header.get("CREATOR", "")).strip()
        hduvers = str(header.get("HDUVERS", "")).strip()
        if creator == "SASH FITS::EventListWriter" and hduvers == "0.2":
            bkg.fov_alignment = "REVERSE_LON_RADEC"
        return bkg

    @property
    def rad_max(self):
        return self._get("rad_max")

    # ------------------------------------------------------------------ times
    @property
    def tstart(self) -> Time:
        """Start of the first GTI (of the selected interval for a piece without good time)."""
        gti = self.gti
        if len(gti) == 0:
            return self._empty_bound(0)
        return gti.time_start[0]

    @property
    def tstop(self) -> Time:
        """Stop of the last GTI (of the selected interval for a piece without good time)."""
        gti = self.gti
        if len(gti) == 0:
            return self._empty_bound(1)
        return gti.time_stop[-1]

    def _empty_bound(self, index) -> Time:
        if self._interval is None:
            raise DatasetError(f"observation {self.obs_id}: the GTI table is empty")
        return self._interval[index]

    @property
    def tmid(self) -> Time:
        return self.tstart + 0.5 * (self.tstop - self.tstart)

    @property
    def time_interval(self):
        """The ``Time([start, stop])`` a piece is restricted to (None for a whole observation)."""
        return self._interval

    @property
    def observation_time_duration(self) -> u.Quantity:
        """Sum of the GTIs (wall time, with dead time)."""
        return self.gti.time_sum

    @property
    def observation_dead_time_fraction(self) -> float:
        """``1 - DEADC`` (else ``1 - LIVETIME / ONTIME``; 0 with a warning if neither)."""
        if "deadtime" not in self._cache:
            header = self.meta
            context = self._header_context()
            try:
                if "DEADC" in header:
                    value = 1.0 - float(header["DEADC"])
                elif "LIVETIME" in header and "ONTIME" in header:
                    value = 1.0 - float(header["LIVETIME"]) / float(header["ONTIME"])
                else:
                    log.warning("%s: no DEADC keyword, assuming no dead time", context)
                    value = 0.0
            except (TypeError, ValueError, ZeroDivisionError):
                raise FormatError(
                    f"{context}: header keyword 'DEADC' = {header.get('DEADC')!r} is not a number"
                ) from None
            if not 0.0 <= value <= 1.0:
                raise FormatError(
                    f"{context}: dead-time fraction {value} (from DEADC = "
                    f"{header.get('DEADC')!r}) is outside [0, 1]"
                )
            self._cache["deadtime"] = value
        return self._cache["deadtime"]

    @property
    def observation_live_time_duration(self) -> u.Quantity:
        """GTI sum x (1 - dead-time fraction)."""
        return self.observation_time_duration * (1.0 - self.observation_dead_time_fraction)

    # ------------------------------------------------------------------ directions
    def _header_angle(self, key):
        header = self.meta
        if key not in header:
            raise FormatError(f"{self._header_context()}: missing header keyword {key!r}")
        try:
            return float(header[key])
        except (TypeError, ValueError):
            raise FormatError(
                f"{self._header_context()}: header keyword {key!r} = {header[key]!r} is not a number"
            ) from None

    @property
    def pointing_radec(self) -> SkyCoord:
        """Pointing direction (RA_PNT, DEC_PNT of the events header; ICRS)."""
        if self._pointing is not None:
            return self._pointing
        if "pointing" not in self._cache:
            self._cache["pointing"] = SkyCoord(
                self._header_angle("RA_PNT"), self._header_angle("DEC_PNT"), unit="deg"
            )
        return self._cache["pointing"]

    def get_pointing_icrs(self, time=None) -> SkyCoord:
        """Pointing at ``time`` (fixed pointing: `pointing_radec`)."""
        return self.pointing_radec

    @property
    def target_radec(self) -> SkyCoord | None:
        """Target direction (RA_OBJ, DEC_OBJ), None when absent."""
        header = self.meta
        if "RA_OBJ" not in header or "DEC_OBJ" not in header:
            return None
        return SkyCoord(self._header_angle("RA_OBJ"), self._header_angle("DEC_OBJ"), unit="deg")

    @property
    def observatory_earth_location(self) -> EarthLocation | None:
        if self._location is not None:
            return self._location
        header = self.meta
        height = header.get("GEOALT", header.get("ALTITUDE"))
        if height is None or "GEOLON" not in header or "GEOLAT" not in header:
            return None
        return EarthLocation(
            lon=float(header["GEOLON"]) * u.deg,
            lat=float(header["GEOLAT"]) * u.deg,
            height=float(height) * u.m,
        )

    # ------------------------------------------------------------------ selections
    def select_time(self, time_interval) -> Observation:
        """The observation restricted to ``time_interval`` = ``Time([start, stop])``.

        Events with ``start <= t < stop`` are kept, GTIs are clipped; the IRFs are shared.
        Selecting a piece again intersects the intervals.
        """
        interval = Time(time_interval)
        if interval.shape != (2,):
            raise DatasetError(f"time interval must be Time([start, stop]), got {time_interval!r}")
        if self._interval is not None:
            start = _latest(self._interval[0], interval[0])
            stop = _earliest(self._interval[1], interval[1])
            if stop < start:
                stop = start
            interval = Time([start, stop])
        new = copy.copy(self)
        new._memory = dict(self._memory)
        new._meta = dict(self._meta)
        new._interval = interval
        new._cache = {k: v for k, v in self._cache.items() if k in ("deadtime", "pointing")}
        return new

    def copy(self, in_memory=False) -> Observation:
        """A copy sharing the file cache; ``in_memory=True`` reads every HDU into the copy."""
        new = copy.copy(self)
        new._memory = dict(self._memory)
        new._meta = dict(self._meta)
        new._cache = dict(self._cache)
        if in_memory and self._source is not None:
            for name in self._source.locations:
                if name in _HDU_TYPES and name not in new._memory:
                    new._memory[name] = self._source.get(name)
            new._meta = self.meta
            new._source = None
        return new

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def __repr__(self):
        return f"Observation(obs_id={self.obs_id}, hdus={self.available_hdus})"

    def __str__(self):
        pointing = self.pointing_radec
        return (
            "Observation\n\n"
            f"\tobs id            : {self.obs_id}\n"
            f"\ttstart            : {self.tstart.mjd:.2f}\n"
            f"\ttstop             : {self.tstop.mjd:.2f}\n"
            f"\tduration          : {self.observation_time_duration:.2f}\n"
            f"\tpointing (icrs)   : {pointing.ra.deg:.1f} deg, {pointing.dec.deg:.1f} deg\n"
            f"\tdeadtime fraction : {self.observation_dead_time_fraction:.1%}\n"
        ).expandtabs(tabsize=2)


class Observations(MutableSequence):
    """A list of `Observation` with lookup by id and time splitting.

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.time import Time
    >>> from fluxfit.data import Observation, Observations
    >>> obs = Observations([Observation.create(SkyCoord(0, 0, unit="deg"), livetime=1 * u.h,
    ...                                        tstart=Time("2020-01-01T00:00"), obs_id=i)
    ...                     for i in (1, 2)])
    >>> obs.ids
    ['1', '2']
    >>> intervals = [Time(["2020-01-01T00:00", "2020-01-01T00:20"]),
    ...              Time(["2020-01-01T00:20", "2020-01-01T02:00"])]
    >>> len(obs.select_time(intervals))
    4
    """

    def __init__(self, observations=None):
        self._observations = []
        for obs in observations or []:
            self.append(obs)

    def __getitem__(self, item):
        if isinstance(item, str):
            return self._observations[self.index(item)]
        if isinstance(item, slice):
            return self.__class__(self._observations[item])
        if isinstance(item, list | tuple | np.ndarray):
            items = list(item)
            if items and all(isinstance(x, str) for x in items):
                return self.__class__([self._observations[self.index(x)] for x in items])
            array = np.asarray(items)
            if array.dtype == bool:
                return self.__class__([o for o, keep in zip(self._observations, array) if keep])
            return self.__class__([self._observations[int(i)] for i in array])
        return self._observations[int(item)]

    def __setitem__(self, key, obs):
        if not isinstance(obs, Observation):
            raise DatasetError(f"Observations hold Observation objects, got {type(obs).__name__}")
        self._observations[self.index(key)] = obs

    def __delitem__(self, key):
        del self._observations[self.index(key)]

    def insert(self, idx, obs):
        if not isinstance(obs, Observation):
            raise DatasetError(f"Observations hold Observation objects, got {type(obs).__name__}")
        self._observations.insert(idx, obs)

    def __len__(self):
        return len(self._observations)

    def index(self, key):
        """Position of an observation given by position, id (str) or object."""
        if isinstance(key, int | np.integer | slice):
            return key
        if isinstance(key, str):
            try:
                return self.ids.index(key)
            except ValueError:
                raise DatasetError(f"Observations: no observation with id {key!r}") from None
        if isinstance(key, Observation):
            return self._observations.index(key)
        raise DatasetError(f"Observations: invalid key type {type(key).__name__}")

    @property
    def ids(self) -> list[str]:
        """Observation ids as strings (as Gammapy)."""
        return [str(obs.obs_id) for obs in self._observations]

    @property
    def obs_ids(self) -> list:
        """Observation ids as given (ints for stored observations)."""
        return [obs.obs_id for obs in self._observations]

    def __str__(self):
        text = f"Observations\nNumber of observations: {len(self)}\n"
        return text + "".join(str(obs) for obs in self._observations)

    def __repr__(self):
        return f"Observations(n={len(self)}, ids={self.ids})"

    def select_time(self, time_intervals) -> Observations:
        """Split the observations at the interval edges (Gammapy's ``Observations.select_time``).

        For each interval in turn, every observation whose GTIs overlap it (for a positive
        duration) gives one piece; observations that do not overlap give none. Pieces are
        ordered by interval, then by observation.

        Parameters
        ----------
        time_intervals : `~astropy.time.Time` or list of `~astropy.time.Time`
            One ``Time([start, stop])`` or a list of them.
        """
        if isinstance(time_intervals, Time) and time_intervals.shape == (2,):
            time_intervals = [time_intervals]
        intervals = [Time(interval) for interval in time_intervals]
        for interval in intervals:
            if interval.shape != (2,):
                raise DatasetError(f"time interval must be Time([start, stop]), got {interval!r}")
        if not intervals:
            return self.__class__()
        edges = Time([t for interval in intervals for t in interval])
        met_by_ref = {}
        gtis = []
        for obs in self._observations:
            gti = obs.gti
            ref = gti.time_ref
            key = (ref.scale, float(ref.jd1), float(ref.jd2))
            if key not in met_by_ref:
                met_by_ref[key] = times_to_met(edges, ref).reshape(-1, 2)
            gtis.append((gti, met_by_ref[key]))
        pieces = []
        for index, interval in enumerate(intervals):
            for obs, (gti, met) in zip(self._observations, gtis):
                start, stop = met[index]
                overlap = np.minimum(gti._stop, stop) - np.maximum(gti._start, start)
                if np.any(overlap > 0):
                    piece = obs.select_time(interval)
                    if obs.time_interval is None:
                        piece._cache.setdefault("interval_met", {})[
                            (gti.time_ref.scale, float(gti.time_ref.jd1), float(gti.time_ref.jd2))
                        ] = (float(start), float(stop))
                    pieces.append(piece)
        return self.__class__(pieces)

    def group_by_label(self, labels) -> dict:
        """Groups of observations by label (``{"group_<label>": Observations}``)."""
        groups = {}
        for label in np.unique(labels):
            members = [o for o, lab in zip(self._observations, labels) if lab == label]
            groups[f"group_{label}"] = self.__class__(members)
        return groups

    @classmethod
    def from_stack(cls, observations_list) -> Observations:
        return cls([obs for observations in observations_list for obs in observations])
