"""`ObservationTable`: the GADF observation index, with Gammapy's selection dictionaries.

Selections (`ObservationTable.select_observations`) take one dict or a list of dicts:

- ``{"type": "sky_circle", "frame": "icrs", "lon": ..., "lat": ..., "radius": ...,
  "border": ...}``: pointings with angular separation ``< radius + border`` from (lon, lat);
- ``{"type": "time_box", "time_range": Time([start, stop])}``: observations entirely inside
  the range (``partial_overlap=True`` for any overlap);
- ``{"type": "par_box", "variable": "ZEN_PNT", "value_range": [lo, hi]}``:
  ``lo <= value < hi`` (``value == lo`` when ``lo == hi``).

Each accepts ``"inverted": True``. The table keeps one row per OBS_ID, sorted (as Gammapy's
`DataStore` does).
"""

from __future__ import annotations

import os
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table, unique
from astropy.time import Time

from fluxfit._files import check_output
from fluxfit.errors import DatasetError, FormatError, UnitError
from fluxfit.irf.gadf._fits import FitsTable, find_table_hdu, kept_header, open_fits

from ._time import time_ref_from_header, time_unit_from_header

__all__ = ["ObservationTable"]


class ObservationTable(Table):
    """Observation index table (an `~astropy.table.Table` with selection methods).

    Examples
    --------
    >>> from fluxfit.data import ObservationTable
    >>> table = ObservationTable({"OBS_ID": [1, 2, 3], "RA_PNT": [83.6, 83.6, 200.0],
    ...                           "DEC_PNT": [22.0, 22.5, -30.0], "ZEN_PNT": [20.0, 45.0, 30.0]})
    >>> table["RA_PNT"].unit = table["DEC_PNT"].unit = table["ZEN_PNT"].unit = "deg"
    >>> sel = dict(type="sky_circle", frame="icrs", lon="83.6 deg", lat="22 deg", radius="1 deg")
    >>> table.select_observations(sel)["OBS_ID"].tolist()
    [1, 2]
    >>> sel = dict(type="par_box", variable="ZEN_PNT", value_range=[0, 40] * u.deg)
    >>> table.select_observations(sel)["OBS_ID"].tolist()
    [1, 3]
    """

    def write(self, filename, *args, overwrite=False, **kwargs):
        """Write the table (astropy's ``Table.write``); an existing file needs ``overwrite=True``.

        Raises
        ------
        OverwriteError
            ``filename`` exists and ``overwrite`` is False.
        """
        if isinstance(filename, str | os.PathLike):
            check_output(filename, overwrite)
        return super().write(filename, *args, overwrite=overwrite, **kwargs)

    @classmethod
    def read(cls, filename, hdu=None):
        """Read an observation index file (``OBS_INDEX`` extension, else the first table)."""
        filename = Path(filename)
        with open_fits(filename) as hdulist:
            if hdu is None:
                names = [h.name.upper() for h in hdulist]
                hdu = "OBS_INDEX" if "OBS_INDEX" in names else None
            table_hdu = find_table_hdu(hdulist, hdu, filename)
            raw = FitsTable(table_hdu, filename=filename)
        return cls.from_fits_table(raw)

    @classmethod
    def from_fits_table(cls, raw: FitsTable):
        if not raw.has("OBS_ID"):
            raise FormatError(
                f"{raw.context()}: observation index is missing column 'OBS_ID' "
                f"(columns: {raw.colnames})"
            )
        table = cls()
        for name in raw.colnames:
            values = raw.column(name)
            if values.dtype.kind in "SU":
                values = np.array([str(v).strip() for v in values])
            unit = raw.unit(name)
            table[name] = values
            if unit is not None:
                table[name].unit = unit
        meta = kept_header(raw.header)
        meta["INDEX_FILE"] = str(raw.filename)
        table.meta = meta
        try:
            obs_ids = np.asarray(table["OBS_ID"], dtype=np.int64)
        except (TypeError, ValueError):
            raise FormatError(f"{raw.context('OBS_ID')}: OBS_ID values are not integers") from None
        table["OBS_ID"] = obs_ids
        return cls(unique(table, keys="OBS_ID"), meta=meta)

    # ------------------------------------------------------------------ helpers
    def _context(self, column=None) -> str:
        text = f"observation index '{self.meta.get('INDEX_FILE', '')}'"
        if column is not None:
            text += f", column {column!r}"
        return text

    def _column(self, name):
        if name not in self.colnames:
            raise FormatError(
                f"{self._context()}: missing column {name!r} (columns: {self.colnames})"
            )
        return self[name]

    def _quantity(self, name, unit) -> np.ndarray:
        column = self._column(name)
        column_unit = column.unit if column.unit is not None else u.Unit(unit)
        try:
            return np.asarray(column, dtype=np.float64) * u.Unit(column_unit).to(unit)
        except u.UnitConversionError:
            raise UnitError(
                f"{self._context(name)}: unit {column_unit} is not convertible to {unit}"
            ) from None

    @property
    def obs_ids(self) -> np.ndarray:
        return np.asarray(self["OBS_ID"], dtype=np.int64)

    @property
    def pointing_radec(self) -> SkyCoord:
        """Pointing directions (RA_PNT, DEC_PNT; ICRS)."""
        return SkyCoord(
            self._quantity("RA_PNT", "deg"), self._quantity("DEC_PNT", "deg"), unit="deg"
        )

    @property
    def pointing_galactic(self) -> SkyCoord:
        return SkyCoord(
            self._quantity("GLON_PNT", "deg"),
            self._quantity("GLAT_PNT", "deg"),
            unit="deg",
            frame="galactic",
        )

    @property
    def time_ref(self) -> Time:
        return time_ref_from_header(self.meta, self._context())

    def _times(self, name) -> Time:
        scale = time_unit_from_header(self.meta, self._context())
        unit = self._column(name).unit
        seconds = (
            self._quantity(name, "s") if unit is not None else self._quantity(name, "s") * scale
        )
        return self.time_ref + u.Quantity(seconds, u.s)

    @property
    def time_start(self) -> Time:
        """Observation starts (TSTART after MJDREF)."""
        return self._times("TSTART")

    @property
    def time_stop(self) -> Time:
        """Observation stops (TSTOP after MJDREF)."""
        return self._times("TSTOP")

    # ------------------------------------------------------------------ selections
    def select_obs_id(self, obs_id):
        """Rows of the given observation id(s), in the order given (DatasetError if absent)."""
        wanted = np.atleast_1d(np.asarray(obs_id, dtype=np.int64))
        ids = self.obs_ids
        rows = []
        for value in wanted:
            found = np.nonzero(ids == value)[0]
            if len(found) == 0:
                raise DatasetError(f"{self._context()}: no observation with OBS_ID {value}")
            rows.append(int(found[0]))
        return self[rows]

    def select_range(self, selection_variable, value_range, inverted=False):
        """Rows with ``lo <= value < hi`` (``value == lo`` when ``lo == hi``)."""
        column = self._column(selection_variable)
        bounds = value_range
        if isinstance(bounds, u.Quantity) or (
            isinstance(bounds, list | tuple)
            and any(isinstance(b, u.Quantity | str) for b in bounds)
        ):
            bounds = u.Quantity(bounds)
        if isinstance(bounds, u.Quantity) and bounds.unit != u.one:
            unit = column.unit if column.unit is not None else u.one
            try:
                lo, hi = bounds.to_value(unit)
            except u.UnitConversionError:
                raise UnitError(
                    f"{self._context(selection_variable)}: value_range unit {bounds.unit} is not "
                    f"convertible to the column unit {unit}"
                ) from None
        else:
            lo, hi = np.asarray(getattr(bounds, "value", bounds), dtype=np.float64)
        values = np.asarray(column, dtype=np.float64)
        if np.isclose(lo, hi):
            mask = values == lo
        else:
            mask = (values >= lo) & (values < hi)
        return self[~mask if inverted else mask]

    def select_time_range(self, time_range, partial_overlap=False, inverted=False):
        """Observations inside ``time_range`` (or overlapping it with ``partial_overlap``)."""
        time_range = Time(time_range)
        start, stop = self.time_start, self.time_stop
        if partial_overlap:
            mask = (time_range[0] <= stop) & (time_range[1] >= start)
        else:
            mask = (time_range[0] <= start) & (time_range[1] >= stop)
        mask = np.asarray(mask, dtype=bool)
        return self[~mask if inverted else mask]

    def select_sky_circle(self, center, radius, inverted=False):
        """Observations pointed less than ``radius`` away from ``center``."""
        radius = Angle(radius, "deg")
        separation = center.separation(self.pointing_radec)
        mask = np.asarray(separation < radius, dtype=bool)
        return self[~mask if inverted else mask]

    def select_observations(self, selections=None):
        """Apply one selection dict or a list of them (see the module docstring)."""
        if selections is None:
            return self
        if isinstance(selections, dict):
            selections = [selections]
        table = self
        for selection in selections:
            table = table._apply_simple_selection(selection)
        return table

    def _apply_simple_selection(self, selection):
        selection = dict(selection)
        kind = selection.pop("type", None)
        inverted = bool(selection.pop("inverted", False))
        try:
            if kind == "sky_circle":
                lon = Angle(selection.pop("lon"), "deg")
                lat = Angle(selection.pop("lat"), "deg")
                radius = Angle(selection.pop("radius"), "deg")
                radius = radius + Angle(selection.pop("border", 0), "deg")
                center = SkyCoord(lon, lat, frame=selection.pop("frame", "icrs"))
                result = self.select_sky_circle(center, radius, inverted=inverted)
            elif kind == "time_box":
                result = self.select_time_range(
                    selection.pop("time_range"),
                    partial_overlap=selection.pop("partial_overlap", False),
                    inverted=inverted,
                )
            elif kind == "par_box":
                result = self.select_range(
                    selection.pop("variable"), selection.pop("value_range"), inverted=inverted
                )
            else:
                raise DatasetError(
                    f"invalid selection type {kind!r}: use 'sky_circle', 'time_box' or 'par_box'"
                )
        except KeyError as exc:
            raise DatasetError(f"selection {kind!r} is missing the key {exc.args[0]!r}") from None
        if selection:
            raise DatasetError(f"selection {kind!r}: unknown key(s) {sorted(selection)}")
        return result

    def summary(self) -> str:
        name = self.meta.get("OBSERVATORY_NAME", self.meta.get("OBSERVER", "N/A"))
        return (
            f"Observation table:\nObservatory name: {name!r}\nNumber of observations: {len(self)}\n"
        )
