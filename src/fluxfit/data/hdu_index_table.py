"""`HDUIndexTable`: the GADF HDU index (which file and HDU hold each part of an observation).

Columns OBS_ID, HDU_TYPE, HDU_CLASS, FILE_DIR, FILE_NAME, HDU_NAME. Files are found at
``BASE_DIR / FILE_DIR / FILE_NAME``, where ``BASE_DIR`` is the header keyword of that name when
present (relative to the index file's folder), else the data store's base directory.

Paths come from the file contents, so they are confined: a row whose FILE_DIR / FILE_NAME
leads outside that base directory (``..``, an absolute path, a symbolic link) raises
`~fluxfit.errors.PathSafetyError` when it is looked up, unless the table was read with
``allow_outside=True`` (e.g. the CTA 1DC index files, whose FILE_DIR is ``../../data/...``).
A ``BASE_DIR`` keyword pointing outside the folder the user gave is followed (GADF defines
it to relocate the data) with a warning naming both folders.
The table is checked when read: a missing column, a row with an unknown HDU_TYPE / HDU_CLASS or
an empty file or HDU name raises a `~fluxfit.errors.FormatError` naming the index file, the row,
the OBS_ID, the column and the value.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.table import Table

from fluxfit._files import check_output
from fluxfit.errors import DatasetError, FormatError, PathSafetyError
from fluxfit.irf.gadf._fits import FitsTable, find_table_hdu, kept_header, open_fits

__all__ = ["HDUIndexTable", "HDULocation", "VALID_HDU_CLASSES"]

log = logging.getLogger(__name__)

#: HDU_TYPE -> accepted HDU_CLASS values (GADF 0.2/0.3).
VALID_HDU_CLASSES = {
    "events": ("events",),
    "gti": ("gti",),
    "aeff": ("aeff_2d",),
    "edisp": ("edisp_2d",),
    "psf": ("psf_table", "psf_3gauss", "psf_king"),
    "bkg": ("bkg_2d", "bkg_3d"),
    "rad_max": ("rad_max_2d",),
    "pointing": ("pointing",),
}

_REQUIRED_COLUMNS = ("OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME")


@dataclass(frozen=True)
class HDULocation:
    """Where one HDU of an observation lives.

    Attributes
    ----------
    obs_id : int
    hdu_type : str
        ``events``, ``gti``, ``aeff``, ``edisp``, ``psf``, ``bkg``, ...
    hdu_class : str
        ``events``, ``gti``, ``aeff_2d``, ``edisp_2d``, ``psf_table``, ``bkg_3d``, ...
    path : Path
        The FITS file.
    hdu_name : str
        The HDU (EXTNAME) in that file.
    index_file : str
        The HDU index the entry comes from (for messages).

    Examples
    --------
    >>> from pathlib import Path
    >>> from fluxfit.data import HDULocation
    >>> HDULocation(1, "aeff", "aeff_2d", Path("run1.fits.gz"), "AEFF").describe()
    "obs_id 1, aeff HDU 'AEFF' of file 'run1.fits.gz'"
    """

    obs_id: int
    hdu_type: str
    hdu_class: str
    path: Path
    hdu_name: str
    index_file: str = ""

    def describe(self) -> str:
        text = f"obs_id {self.obs_id}, {self.hdu_type} HDU {self.hdu_name!r} of file '{self.path}'"
        if self.index_file:
            text += f" (HDU index '{self.index_file}')"
        return text

    def read_table(self) -> FitsTable:
        """The HDU as a `~fluxfit.irf.gadf._fits.FitsTable` (errors name obs_id, file, HDU)."""
        with open_fits(self.path, obs_id=self.obs_id) as hdulist:
            table_hdu = find_table_hdu(hdulist, self.hdu_name, self.path, self.obs_id)
            return FitsTable(table_hdu, filename=self.path, obs_id=self.obs_id)

    def read_header(self) -> dict:
        """The HDU header only (no data read)."""
        with open_fits(self.path, obs_id=self.obs_id) as hdulist:
            table_hdu = find_table_hdu(hdulist, self.hdu_name, self.path, self.obs_id)
            return kept_header(table_hdu.header)

    def load(self):
        """Read the HDU as the fluxfit object of its class (EventList, GTI, IRF)."""
        from fluxfit.irf.gadf import IRF_REGISTRY

        if self.hdu_class == "events":
            from .event_list import EventList

            return EventList.from_fits_table(self.read_table())
        if self.hdu_class == "gti":
            from .gti import GTI

            return GTI.from_fits_table(self.read_table())
        if self.hdu_class in IRF_REGISTRY:
            return IRF_REGISTRY[self.hdu_class].from_fits_table(self.read_table())
        raise FormatError(
            f"{self.describe()}: HDU_CLASS {self.hdu_class!r} is not supported "
            f"(supported: events, gti, {', '.join(sorted(IRF_REGISTRY))})"
        )


def _inside(path: Path, folder: Path) -> bool:
    """True if ``path`` (after resolving ``..`` and symbolic links) lies in ``folder``."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def _strings(column) -> np.ndarray:
    values = np.ma.filled(np.ma.asarray(column), "") if np.ma.isMaskedArray(column) else column
    out = []
    for value in np.asarray(values):
        if isinstance(value, bytes):
            value = value.decode("ascii", errors="replace")
        out.append(str(value).strip())
    return np.array(out, dtype=object)


class HDUIndexTable(Table):
    """GADF HDU index table (an `~astropy.table.Table` with lookup helpers).

    Use `HDUIndexTable.read`, which checks the content; ``meta["BASE_DIR"]`` is the folder the
    FILE_DIR entries are relative to.

    Examples
    --------
    >>> from fluxfit.data import HDUIndexTable
    >>> HDUIndexTable.VALID_HDU_CLASS[:4]
    ('events', 'gti', 'aeff_2d', 'edisp_2d')
    """

    VALID_HDU_TYPE = tuple(VALID_HDU_CLASSES)
    VALID_HDU_CLASS = tuple(c for classes in VALID_HDU_CLASSES.values() for c in classes)

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
    def read(cls, filename, hdu=None, base_dir=None, allow_outside=False):
        """Read and check an HDU index file.

        Parameters
        ----------
        filename : str or Path
        hdu : str or int, optional
            Default the ``HDU_INDEX`` extension, else the first table.
        base_dir : str or Path, optional
            Folder of the data files when the header has no ``BASE_DIR`` (default: the folder
            of the index file).
        allow_outside : bool
            Let rows name files outside the base directory (``FILE_DIR = ../..``).
        """
        filename = Path(filename)
        with open_fits(filename) as hdulist:
            if hdu is None:
                names = [h.name.upper() for h in hdulist]
                hdu = "HDU_INDEX" if "HDU_INDEX" in names else None
            table_hdu = find_table_hdu(hdulist, hdu, filename)
            raw = FitsTable(table_hdu, filename=filename)
        return cls.from_fits_table(raw, base_dir=base_dir, allow_outside=allow_outside)

    @classmethod
    def from_fits_table(cls, raw: FitsTable, base_dir=None, allow_outside=False):
        filename = Path(raw.filename) if raw.filename is not None else Path(".")
        missing = [c for c in _REQUIRED_COLUMNS if not raw.has(c)]
        if missing:
            raise FormatError(
                f"{raw.context()}: HDU index is missing column(s) {missing} "
                f"(columns: {raw.colnames})"
            )
        for name in _REQUIRED_COLUMNS:
            if raw.column(name).ndim != 1:
                raise FormatError(
                    f"{raw.context(name)}: HDU index column has shape {raw.column(name).shape}, "
                    "expected one value per row"
                )
        obs_id_raw = raw.column("OBS_ID")
        if np.ma.isMaskedArray(obs_id_raw) and np.any(obs_id_raw.mask):
            row = int(np.argmax(obs_id_raw.mask))
            raise FormatError(f"{raw.context('OBS_ID')}: row {row} has no OBS_ID")
        try:
            obs_id_float = np.asarray(obs_id_raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise FormatError(f"{raw.context('OBS_ID')}: OBS_ID values are not integers") from None
        bad = ~np.isfinite(obs_id_float) | (obs_id_float != np.round(obs_id_float))
        if np.any(bad):
            row = int(np.argmax(bad))
            raise FormatError(
                f"{raw.context('OBS_ID')}: row {row} has OBS_ID = {obs_id_raw[row]!r}, "
                "not an integer"
            )
        columns = {"OBS_ID": obs_id_float.astype(np.int64)}
        for name in _REQUIRED_COLUMNS[1:]:
            columns[name] = _strings(raw.column(name))
        columns["HDU_TYPE"] = np.array([s.lower() for s in columns["HDU_TYPE"]], dtype=object)
        columns["HDU_CLASS"] = np.array([s.lower() for s in columns["HDU_CLASS"]], dtype=object)
        for row in range(len(columns["OBS_ID"])):
            obs_id = columns["OBS_ID"][row]
            hdu_type = columns["HDU_TYPE"][row]
            hdu_class = columns["HDU_CLASS"][row]
            where = f"{raw.context()}: row {row} (obs_id {obs_id})"
            if hdu_type not in VALID_HDU_CLASSES:
                raise FormatError(
                    f"{where}: HDU_TYPE = {hdu_type!r} is not one of {list(VALID_HDU_CLASSES)}"
                )
            if hdu_class not in VALID_HDU_CLASSES[hdu_type]:
                raise FormatError(
                    f"{where}: HDU_CLASS = {hdu_class!r} is not valid for HDU_TYPE "
                    f"{hdu_type!r} (valid: {list(VALID_HDU_CLASSES[hdu_type])})"
                )
            for name in ("FILE_NAME", "HDU_NAME"):
                if columns[name][row] == "":
                    raise FormatError(f"{where}: {name} is empty")
        table = cls(
            {
                name: np.asarray(values).astype(str) if name != "OBS_ID" else values
                for name, values in columns.items()
            }
        )
        for name in raw.colnames:
            if name not in table.colnames:
                table[name] = raw.column(name)
        meta = kept_header(raw.header)
        header_base = raw.keyword("BASE_DIR")
        given = Path(base_dir) if base_dir is not None else filename.parent
        if header_base is not None and not isinstance(header_base, str):
            raise FormatError(
                f"{raw.context()}: header keyword 'BASE_DIR' = {header_base!r} is not a folder name"
            )
        if header_base:
            base = Path(header_base)
            if not base.is_absolute():
                base = filename.parent / base
            if not _inside(base, given):
                warnings.warn(
                    f"{raw.context()}: header keyword BASE_DIR = {header_base!r} points to "
                    f"{base.resolve()}, outside the folder {given.resolve()}; reading the data "
                    "from there",
                    UserWarning,
                    stacklevel=3,
                )
        else:
            base = given
        meta["BASE_DIR"] = str(base)
        meta["INDEX_FILE"] = str(filename)
        table.meta = meta
        table._allow_outside = bool(allow_outside)
        return table

    # ------------------------------------------------------------------ lookup
    @property
    def base_dir(self) -> Path:
        return Path(self.meta.get("BASE_DIR", "."))

    @property
    def index_file(self) -> str:
        return str(self.meta.get("INDEX_FILE", ""))

    def _rows_by_obs(self) -> dict:
        key = "_rows_cache"
        cached = getattr(self, key, None)
        if cached is None or cached[0] != len(self):
            rows = {}
            for row, obs_id in enumerate(np.asarray(self["OBS_ID"])):
                rows.setdefault(int(obs_id), []).append(row)
            cached = (len(self), rows)
            setattr(self, key, cached)
        return cached[1]

    def row_idx(self, obs_id, hdu_type=None, hdu_class=None) -> list[int]:
        """Row indices of an observation (optionally one HDU_TYPE / HDU_CLASS)."""
        rows = self._rows_by_obs().get(int(obs_id), [])
        types = self["HDU_TYPE"]
        classes = self["HDU_CLASS"]
        return [
            r
            for r in rows
            if (hdu_type is None or types[r] == hdu_type)
            and (hdu_class is None or classes[r] == hdu_class)
        ]

    def location_info(self, row) -> HDULocation:
        """`HDULocation` of a row."""
        entry = self[row]
        path = self.base_dir / str(entry["FILE_DIR"]) / str(entry["FILE_NAME"])
        if not getattr(self, "_allow_outside", False) and not _inside(path, self.base_dir):
            raise PathSafetyError(
                f"HDU index '{self.index_file}': row {row} (obs_id {int(entry['OBS_ID'])}, "
                f"HDU_TYPE {str(entry['HDU_TYPE'])!r}) has FILE_DIR = {str(entry['FILE_DIR'])!r}, "
                f"FILE_NAME = {str(entry['FILE_NAME'])!r}, which lead to {path.resolve()}, outside "
                f"the base directory {self.base_dir.resolve()}; read the index with "
                "allow_outside=True (DataStore.from_dir(..., allow_outside=True)) to follow it"
            )
        return HDULocation(
            obs_id=int(entry["OBS_ID"]),
            hdu_type=str(entry["HDU_TYPE"]),
            hdu_class=str(entry["HDU_CLASS"]),
            path=path,
            hdu_name=str(entry["HDU_NAME"]),
            index_file=self.index_file,
        )

    def hdu_location(self, obs_id, hdu_type=None, hdu_class=None, warn_missing=True):
        """`HDULocation` of one HDU of an observation, or None when the index has no entry."""
        if hdu_type is None and hdu_class is None:
            raise DatasetError("hdu_location: give hdu_type or hdu_class")
        if hdu_type is not None and hdu_type not in VALID_HDU_CLASSES:
            raise DatasetError(
                f"hdu_location: invalid hdu_type {hdu_type!r}, valid: {list(VALID_HDU_CLASSES)}"
            )
        rows = self.row_idx(obs_id, hdu_type=hdu_type, hdu_class=hdu_class)
        if not rows:
            if warn_missing:
                log.warning(
                    "No HDU found in '%s' for OBS_ID = %s, HDU_TYPE = %s, HDU_CLASS = %s",
                    self.index_file,
                    obs_id,
                    hdu_type,
                    hdu_class,
                )
            return None
        if len(rows) > 1:
            log.warning(
                "HDU index '%s' has %d rows for OBS_ID = %s, HDU_TYPE = %s; using the first",
                self.index_file,
                len(rows),
                obs_id,
                hdu_type,
            )
        return self.location_info(rows[0])

    @property
    def obs_id_unique(self) -> np.ndarray:
        return np.unique(np.asarray(self["OBS_ID"]))

    @property
    def hdu_type_unique(self) -> list[str]:
        return sorted(set(str(s) for s in self["HDU_TYPE"]))

    @property
    def hdu_class_unique(self) -> list[str]:
        return sorted(set(str(s) for s in self["HDU_CLASS"]))

    def summary(self) -> str:
        obs_ids = self.obs_id_unique
        span = f"{obs_ids[0]} -- {obs_ids[-1]}" if len(obs_ids) else "none"
        return (
            "HDU index table:\n"
            f"BASE_DIR: {self.base_dir}\n"
            f"Rows: {len(self)}\n"
            f"OBS_ID: {span}\n"
            f"HDU_TYPE: {self.hdu_type_unique}\n"
            f"HDU_CLASS: {self.hdu_class_unique}\n"
        )
