"""`EventList`: the events of one observation (GADF ``EVENTS`` HDU).

Columns are held as plain arrays: ``ENERGY`` in TeV, ``RA``/``DEC`` in deg (float64, converted
from TUNIT) and ``TIME`` as float64 seconds since the reference time of the header (MJDREFI +
MJDREFF in scale TIMESYS, TIMEUNIT and TIMEZERO applied); other columns are kept as read.
`EventList.time` (`~astropy.time.Time`), `EventList.radec` (`~astropy.coordinates.SkyCoord`) and
`EventList.table` (an `~astropy.table.Table` with a ``TIME`` column of `~astropy.time.Time`, as
Gammapy's) are built on request. Selections return new event lists sharing the header.

Bins are half-open ``[lo, hi)`` everywhere (energy, time, offset), as Gammapy's.
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, EarthLocation, SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

from fluxfit._files import check_output
from fluxfit.errors import DatasetError, FormatError, UnitError
from fluxfit.irf.gadf._fits import FitsTable, describe, find_table_hdu, kept_header, open_fits

from ._time import (
    TIME_REF_DEFAULT,
    met_to_times,
    shift_met,
    time_ref_from_header,
    time_ref_to_header,
    time_unit_from_header,
    times_to_met,
)
from .gti import GTI, interval_to_met

__all__ = ["EventList"]

log = logging.getLogger(__name__)

_CORE = ("ENERGY", "RA", "DEC", "TIME")


def _energy_unit(table: FitsTable):
    unit = table.unit("ENERGY")
    if unit is None:
        eunit = table.keyword("EUNIT")
        if eunit:
            unit = u.Unit(eunit) if not isinstance(eunit, u.UnitBase) else eunit
    if unit is None:
        raise UnitError(f"{table.context('ENERGY')}: no unit (TUNIT or EUNIT) given")
    return unit


class EventList:
    """Events of one observation.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Columns ``ENERGY``, ``RA``, ``DEC``, ``TIME`` (Quantities or numbers in TeV, deg;
        ``TIME`` as `~astropy.time.Time` or seconds since the MJDREF of ``meta``), plus any others.
    meta : dict, optional
        Header keywords (``OBS_ID``, ``RA_PNT``, ``DEC_PNT``, ``DEADC``, ``MJDREFI``...);
        ``table.meta`` by default.

    Examples
    --------
    >>> import numpy as np
    >>> from astropy.table import Table
    >>> from astropy.time import Time
    >>> from fluxfit.data import EventList
    >>> table = Table({"ENERGY": [0.5, 2.0, 8.0], "RA": [83.6, 83.7, 84.0],
    ...                "DEC": [22.0, 22.1, 22.0],
    ...                "TIME": Time(["2020-01-01T00:00", "2020-01-01T00:10", "2020-01-01T00:20"])})
    >>> events = EventList(table, meta={"OBS_ID": 1, "RA_PNT": 83.6, "DEC_PNT": 22.5})
    >>> len(events.select_energy([1, 10] * u.TeV))
    2
    >>> events.counts_by_energy([0.1, 1, 10] * u.TeV).tolist()
    [1, 2]
    """

    def __init__(self, table, meta=None):
        if not isinstance(table, Table):
            raise DatasetError(f"EventList expects an astropy Table, got {type(table).__name__}")
        meta = dict(table.meta if meta is None else meta)
        missing = [name for name in _CORE if name not in table.colnames]
        if missing:
            raise FormatError(f"EventList table: missing column(s) {missing} ({table.colnames})")
        time_column = table["TIME"]
        if isinstance(time_column, Time):
            time_ref = time_ref_from_header(meta, "EventList", default=TIME_REF_DEFAULT)
            met = times_to_met(time_column, time_ref)
        else:
            time_ref = time_ref_from_header(meta, "EventList", default=TIME_REF_DEFAULT)
            unit = getattr(time_column, "unit", None) or str(meta.get("TIMEUNIT", "s")).strip()
            met = np.asarray(time_column, dtype=np.float64) * u.Unit(unit).to(u.s)
        columns = {"TIME": np.asarray(met, dtype=np.float64)}
        for name, unit in (("ENERGY", u.TeV), ("RA", u.deg), ("DEC", u.deg)):
            column = table[name]
            column_unit = getattr(column, "unit", None)
            values = np.asarray(getattr(column, "value", column), dtype=np.float64)
            if column_unit is not None:
                try:
                    values = values * u.Unit(column_unit).to(unit)
                except u.UnitConversionError:
                    raise UnitError(
                        f"EventList: column {name!r} has unit {column_unit}, expected {unit}"
                    ) from None
            columns[name] = values
        units = {"TIME": u.s, "ENERGY": u.TeV, "RA": u.deg, "DEC": u.deg}
        for name in table.colnames:
            if name in _CORE:
                continue
            column = table[name]
            columns[name] = np.asarray(getattr(column, "value", column))
            units[name] = getattr(column, "unit", None)
        self._init(columns, units, meta, time_ref)

    def _init(self, columns, units, meta, time_ref, filename=None):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise DatasetError(f"EventList: columns have different lengths {sorted(lengths)}")
        self._columns = columns
        self._units = units
        self.meta = meta
        self._time_ref = time_ref
        self.filename = filename
        self._cache = {}

    @classmethod
    def _from_parts(cls, columns, units, meta, time_ref, filename=None):
        new = object.__new__(cls)
        new._init(columns, units, meta, time_ref, filename)
        return new

    # ------------------------------------------------------------------ reading
    @classmethod
    def from_fits_table(cls, table: FitsTable):
        """Events from a GADF ``EVENTS`` table."""
        context = table.context()
        for name in _CORE:
            table.column(name)  # FormatError naming the column when absent
        time_ref = time_ref_from_header(table.header, context)
        scale = time_unit_from_header(table.header, context)
        zero = (table.float_keyword("TIMEZERO", 0.0) or 0.0) * scale
        columns = {
            "TIME": table.quantity("TIME", u.s, default_unit=u.Unit(scale * u.s)) + zero,
            "ENERGY": table.quantity("ENERGY", u.TeV, default_unit=_energy_unit(table)),
            "RA": table.quantity("RA", u.deg),
            "DEC": table.quantity("DEC", u.deg),
        }
        units = {"TIME": u.s, "ENERGY": u.TeV, "RA": u.deg, "DEC": u.deg}
        for name in table.colnames:
            if name in _CORE:
                continue
            columns[name] = table.column(name)
            units[name] = table.unit(name)
        for name in _CORE:
            if columns[name].ndim != 1:
                raise FormatError(
                    f"{table.context(name)}: a vector column of shape "
                    f"{columns[name].shape[1:]} per row; expected one number per event"
                )
            bad = ~np.isfinite(columns[name])
            if np.any(bad):
                i = int(np.argmax(bad))
                raise FormatError(
                    f"{table.context(name)}: row {i} has non-finite value {columns[name][i]}"
                )
        meta = kept_header(table.header, drop=("TIMEZERO",))
        return cls._from_parts(columns, units, meta, time_ref, filename=table.filename)

    @classmethod
    def read(cls, filename, hdu="EVENTS", obs_id=None):
        """Read the ``EVENTS`` HDU of a FITS file (gzipped or not)."""
        with open_fits(filename, obs_id=obs_id) as hdulist:
            table_hdu = find_table_hdu(hdulist, hdu, filename, obs_id)
            table = FitsTable(table_hdu, filename=filename, obs_id=obs_id)
        return cls.from_fits_table(table)

    # ------------------------------------------------------------------ basic access
    def __len__(self):
        return len(self._columns["TIME"])

    def __repr__(self):
        return f"EventList(obs_id={self.obs_id}, n_events={len(self)})"

    def __str__(self):
        lines = [
            "EventList",
            "---------",
            f"  Obs. ID          : {self.obs_id}",
            f"  Number of events : {len(self)}",
        ]
        if len(self):
            energy = self.energy_tev
            lines += [
                f"  Min. energy      : {energy.min():.2e} TeV",
                f"  Max. energy      : {energy.max():.2e} TeV",
                f"  Median energy    : {np.median(energy):.2e} TeV",
            ]
            if self.is_pointed_observation:
                lines.append(f"  Max. offset      : {self.offset.deg.max():.1f} deg")
        return "\n".join(lines) + "\n"

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    @property
    def colnames(self) -> list[str]:
        return list(self._columns)

    def column(self, name) -> np.ndarray:
        """Column values (plain array; ENERGY in TeV, RA/DEC in deg, TIME in s since time_ref)."""
        if name not in self._columns:
            raise KeyError(f"EventList: no column {name!r} (columns: {self.colnames})")
        return self._columns[name]

    def column_unit(self, name):
        return self._units.get(name)

    @property
    def obs_id(self):
        value = self.meta.get("OBS_ID")
        return int(value) if value is not None else None

    @property
    def time_ref(self) -> Time:
        """Reference time of `met` (MJDREFI + MJDREFF, scale TIMESYS)."""
        return self._time_ref

    @property
    def met(self) -> np.ndarray:
        """Event times in seconds since `time_ref` (float64)."""
        return self._columns["TIME"]

    @property
    def time(self) -> Time:
        """Event times (`~astropy.time.Time`, scale of the header's TIMESYS)."""
        if "time" not in self._cache:
            self._cache["time"] = met_to_times(self.met, self._time_ref)
        return self._cache["time"]

    @property
    def energy_tev(self) -> np.ndarray:
        """Reconstructed energies in TeV (float64)."""
        return self._columns["ENERGY"]

    @property
    def energy(self) -> u.Quantity:
        """Reconstructed energies (TeV)."""
        return u.Quantity(self._columns["ENERGY"], u.TeV, copy=False)

    @property
    def ra_deg(self) -> np.ndarray:
        return self._columns["RA"]

    @property
    def dec_deg(self) -> np.ndarray:
        return self._columns["DEC"]

    @property
    def radec(self) -> SkyCoord:
        """Event directions (ICRS)."""
        if "radec" not in self._cache:
            self._cache["radec"] = SkyCoord(self.ra_deg, self.dec_deg, unit="deg", frame="icrs")
        return self._cache["radec"]

    @property
    def galactic(self) -> SkyCoord:
        return self.radec.galactic

    @property
    def table(self) -> Table:
        """`~astropy.table.Table` with TIME as `~astropy.time.Time` (Gammapy's layout)."""
        columns = {
            "TIME": self.time,
            "ENERGY": self.energy,
            "RA": u.Quantity(self.ra_deg, u.deg),
            "DEC": u.Quantity(self.dec_deg, u.deg),
        }
        table = Table(columns, meta=dict(self.meta))
        for name in self.colnames:
            if name not in _CORE:
                unit = self._units.get(name)
                table[name] = (
                    self._columns[name] if unit is None else u.Quantity(self._columns[name], unit)
                )
        return table

    # ------------------------------------------------------------------ header facts
    def _header_float(self, key):
        if key not in self.meta:
            raise FormatError(
                f"{describe(self.filename, 'EVENTS', self.obs_id)}: missing header keyword {key!r}"
            )
        try:
            return float(self.meta[key])
        except (TypeError, ValueError):
            raise FormatError(
                f"{describe(self.filename, 'EVENTS', self.obs_id)}: header keyword {key!r} = "
                f"{self.meta[key]!r} is not a number"
            ) from None

    @property
    def is_pointed_observation(self) -> bool:
        return "RA_PNT" in self.meta and "DEC_PNT" in self.meta

    @property
    def pointing_radec(self) -> SkyCoord:
        """Pointing direction (RA_PNT, DEC_PNT; ICRS)."""
        return SkyCoord(self._header_float("RA_PNT"), self._header_float("DEC_PNT"), unit="deg")

    @property
    def offset(self) -> Angle:
        """Angular distance of each event from the pointing direction."""
        return Angle(self.pointing_radec.separation(self.radec), unit="deg")

    @property
    def observation_time_start(self) -> Time:
        return met_to_times(self._header_float("TSTART"), self._time_ref)

    @property
    def observation_time_stop(self) -> Time:
        return met_to_times(self._header_float("TSTOP"), self._time_ref)

    @property
    def observation_time_duration(self) -> u.Quantity:
        """TSTOP - TSTART (wall time, with dead time)."""
        return u.Quantity(self._header_float("TSTOP") - self._header_float("TSTART"), u.s)

    @property
    def observation_live_time_duration(self) -> u.Quantity:
        """LIVETIME header keyword."""
        return u.Quantity(self._header_float("LIVETIME"), u.s)

    @property
    def observation_dead_time_fraction(self) -> float:
        """``1 - DEADC``."""
        return 1.0 - self._header_float("DEADC")

    @property
    def observatory_earth_location(self) -> EarthLocation:
        height = self.meta.get("GEOALT", self.meta.get("ALTITUDE"))
        if height is None or "GEOLON" not in self.meta or "GEOLAT" not in self.meta:
            raise FormatError(
                f"{describe(self.filename, 'EVENTS', self.obs_id)}: GEOLON, GEOLAT and "
                "ALTITUDE (or GEOALT) header keywords are needed for the observatory location"
            )
        return EarthLocation(
            lon=float(self.meta["GEOLON"]) * u.deg,
            lat=float(self.meta["GEOLAT"]) * u.deg,
            height=float(height) * u.m,
        )

    # ------------------------------------------------------------------ selections
    def select_row_subset(self, row_specifier) -> EventList:
        """Events selected by a boolean mask, an index array or a slice."""
        columns = {name: values[row_specifier] for name, values in self._columns.items()}
        return self._from_parts(columns, self._units, self.meta, self._time_ref, self.filename)

    def select_energy(self, energy_range) -> EventList:
        """Events with ``energy_min <= E < energy_max``."""
        bounds = u.Quantity(energy_range, u.TeV)
        lo, hi = bounds.to_value(u.TeV)
        energy = self.energy_tev
        return self.select_row_subset((energy >= lo) & (energy < hi))

    def select_met(self, start, stop) -> EventList:
        """Events with ``start <= t < stop`` (seconds since `time_ref`)."""
        met = self.met
        return self.select_row_subset((met >= start) & (met < stop))

    def select_time(self, time_interval) -> EventList:
        """Events in ``time_interval`` = ``Time([start, stop])`` (start inclusive, stop exclusive)."""
        start, stop = interval_to_met(time_interval, self._time_ref)
        return self.select_met(start, stop)

    def select_gti(self, gti: GTI) -> EventList:
        """Events inside any interval of ``gti``."""
        start, stop = gti.met_in(self._time_ref)
        met = self.met
        inside = np.zeros(len(self), dtype=bool)
        for a, b in zip(start, stop):
            inside |= (met >= a) & (met < b)
        return self.select_row_subset(inside)

    def select_region(self, regions, wcs=None) -> EventList:
        """Events inside a sky region (or the union of several), as Gammapy's `RegionGeom.contains`.

        Parameters
        ----------
        regions : `~regions.SkyRegion`, list, str (ds9) or compound region
        wcs : `~astropy.wcs.WCS`, optional
            Projection for pixel-level containment (default: TAN centred on the region).
        """
        from fluxfit.maps import RegionGeom

        geom = RegionGeom.from_regions(regions, wcs=wcs)
        if len(self) == 0:
            return self.select_row_subset(np.zeros(0, dtype=bool))
        mask = np.asarray(geom.contains(self.radec), dtype=bool)
        return self.select_row_subset(mask)

    def select_offset(self, offset_band) -> EventList:
        """Events with ``offset_min <= offset < offset_max`` from the pointing direction."""
        lo, hi = Angle(offset_band).to_value(u.deg)
        offset = self.offset.deg
        return self.select_row_subset((offset >= lo) & (offset < hi))

    def select_parameter(self, parameter, values, is_range=True) -> EventList:
        """Events whose column ``parameter`` lies in ``[values[0], values[1])`` or equals a value."""
        column = self.column(parameter)
        unit = self._units.get(parameter)
        if isinstance(values, u.Quantity):
            values = values.to_value(unit) if unit is not None else values.value
        if is_range:
            mask = (column >= values[0]) & (column < values[1])
        else:
            mask = np.isin(column, np.asarray(values))
        return self.select_row_subset(mask)

    def select_mask(self, mask_map) -> EventList:
        """Events in pixels where ``mask_map`` (a boolean `~fluxfit.maps.Map`) is true."""
        values = mask_map.get_by_coord(self.map_coord(mask_map.geom), fill_value=0)
        return self.select_row_subset(np.asarray(values) > 0)

    def map_coord(self, geom) -> dict:
        """Coordinates of the events for ``geom`` (``skycoord`` plus one entry per axis)."""
        coords = {"skycoord": self.radec}
        upper = {name.upper(): name for name in self.colnames}
        for axis in geom.axes:
            name = upper.get(axis.name.upper())
            if name is None:
                raise DatasetError(f"EventList: no column for the map axis {axis.name!r}")
            unit = self._units.get(name)
            values = self._columns[name]
            coords[axis.name] = u.Quantity(values, unit) if unit is not None else values
        return coords

    # ------------------------------------------------------------------ binning
    def counts_by_energy(self, energy_edges) -> np.ndarray:
        """Number of events per energy bin ``[lo, hi)`` (int64), edges a Quantity or MapAxis."""
        edges = getattr(energy_edges, "edges", energy_edges)
        edges = u.Quantity(edges, u.TeV).to_value(u.TeV)
        index = np.searchsorted(edges, self.energy_tev, side="right") - 1
        valid = (index >= 0) & (index < len(edges) - 1)
        return np.bincount(index[valid], minlength=len(edges) - 1).astype(np.int64)

    # ------------------------------------------------------------------ stacking and writing
    def stack(self, other) -> None:
        """Append the events of ``other`` in place (times re-referenced to this list)."""
        if set(other.colnames) != set(self.colnames):
            raise DatasetError(
                f"EventList.stack: columns differ ({self.colnames} vs {other.colnames})"
            )
        columns = {}
        for name in self.colnames:
            values = other.column(name)
            if name == "TIME":
                values = shift_met(values, other.time_ref, self._time_ref)
            columns[name] = np.concatenate([self._columns[name], values])
        self._columns = columns
        self._cache = {}

    @classmethod
    def from_stack(cls, event_lists) -> EventList:
        """Concatenate event lists (header of the first)."""
        event_lists = list(event_lists)
        if not event_lists:
            raise DatasetError("EventList.from_stack: no event lists given")
        first = event_lists[0]
        out = first.select_row_subset(slice(None))
        for other in event_lists[1:]:
            out.stack(other)
        return out

    def to_table_hdu(self) -> fits.BinTableHDU:
        """GADF ``EVENTS`` HDU (TIME in seconds since the MJDREF of `time_ref`)."""
        table = Table()
        for name in self.colnames:
            unit = self._units.get(name)
            values = self._columns[name]
            table[name] = u.Quantity(values, unit) if unit is not None else values
        header = {k: v for k, v in self.meta.items() if k != "EXTNAME"}
        header.update(time_ref_to_header(self._time_ref))
        header["TIMEUNIT"] = "s"
        header.setdefault("HDUCLASS", "GADF")
        header.setdefault("HDUCLAS1", "EVENTS")
        table.meta = header
        return fits.BinTableHDU(table, name="EVENTS")

    def write(self, filename, gti=None, overwrite=False):
        """Write the events (and a GTI HDU if given) to a FITS file."""
        path = check_output(filename, overwrite)
        hdus = [fits.PrimaryHDU(), self.to_table_hdu()]
        if gti is not None:
            hdus.append(gti.to_table_hdu())
        fits.HDUList(hdus).writeto(path, overwrite=overwrite)
