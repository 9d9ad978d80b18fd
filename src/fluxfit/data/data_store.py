"""`DataStore`: GADF DL3 data described by an HDU index and an observation index.

Examples
--------
>>> from fluxfit.data import DataStore
>>> DataStore.DEFAULT_HDU_TABLE, DataStore.DEFAULT_OBS_TABLE
('hdu-index.fits.gz', 'obs-index.fits.gz')
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fluxfit.errors import DatasetError, FormatError, MissingFileError

from .hdu_index_table import HDUIndexTable
from .obs_table import ObservationTable
from .observations import IRF_TYPES, Observation, Observations, _ObservationSource

__all__ = ["DataStore", "REQUIRED_IRFS"]

log = logging.getLogger(__name__)

#: Shortcuts for ``required_irf`` (as Gammapy).
REQUIRED_IRFS = {
    "full-enclosure": ("aeff", "edisp", "psf", "bkg"),
    "point-like": ("aeff", "edisp"),
    "all-optional": (),
}

_ALL_HDUS = ("events", "gti", "aeff", "edisp", "psf", "bkg", "rad_max")


def _resolve(base_dir: Path, filename, default: str) -> tuple[Path, bool]:
    """Index file path (relative to ``base_dir`` or absolute) and whether it was given."""
    if filename is None:
        return base_dir / default, False
    path = Path(filename).expanduser()
    if not path.is_absolute() and (base_dir / path).exists():
        return base_dir / path, True
    return path, True


class DataStore:
    """IACT data store (GADF DL3): index tables plus lazy access to observations.

    Parameters
    ----------
    hdu_table : `~fluxfit.data.HDUIndexTable`
    obs_table : `~fluxfit.data.ObservationTable`, optional

    Examples
    --------
    .. code-block:: python

        data_store = DataStore.from_dir("$GAMMAPY_DATA/hess-dl3-dr1")
        selection = dict(type="sky_circle", frame="icrs", lon="329.7 deg", lat="-30.2 deg",
                         radius="2 deg")
        obs_ids = data_store.obs_table.select_observations(selection)["OBS_ID"]
        observations = data_store.get_observations(obs_ids)
    """

    DEFAULT_HDU_TABLE = "hdu-index.fits.gz"
    DEFAULT_OBS_TABLE = "obs-index.fits.gz"

    def __init__(self, hdu_table, obs_table=None):
        if not isinstance(hdu_table, HDUIndexTable):
            raise DatasetError(
                f"DataStore: hdu_table must be an HDUIndexTable, got {type(hdu_table).__name__}"
            )
        self.hdu_table = hdu_table
        self.obs_table = obs_table

    @classmethod
    def from_dir(
        cls, base_dir, hdu_table_filename=None, obs_table_filename=None, allow_outside=False
    ):
        """Data store of a folder with ``hdu-index.fits.gz`` and ``obs-index.fits.gz``.

        Parameters
        ----------
        base_dir : str or Path
            Folder of the data (``$VARIABLES`` and ``~`` are expanded).
        hdu_table_filename, obs_table_filename : str or Path, optional
            Index files, relative to ``base_dir`` or absolute. A missing default observation
            index is allowed (``obs_table`` is then None); a missing file that was named
            raises `~fluxfit.errors.MissingFileError`.
        allow_outside : bool
            Let the HDU index name files outside ``base_dir`` (or its ``BASE_DIR``), e.g.
            ``FILE_DIR = ../../data`` in the CTA 1DC index files; by default such a row raises
            `~fluxfit.errors.PathSafetyError` when it is used.
        """
        import os

        base_dir = Path(os.path.expandvars(str(base_dir))).expanduser()
        if not base_dir.is_dir():
            raise MissingFileError(f"DataStore.from_dir: folder '{base_dir}' not found")
        hdu_path, _ = _resolve(base_dir, hdu_table_filename, cls.DEFAULT_HDU_TABLE)
        if not hdu_path.is_file():
            raise MissingFileError(f"DataStore.from_dir: HDU index '{hdu_path}' not found")
        hdu_table = HDUIndexTable.read(hdu_path, base_dir=base_dir, allow_outside=allow_outside)
        obs_path, given = _resolve(base_dir, obs_table_filename, cls.DEFAULT_OBS_TABLE)
        if obs_path.is_file():
            obs_table = ObservationTable.read(obs_path)
        elif given:
            raise MissingFileError(f"DataStore.from_dir: observation index '{obs_path}' not found")
        else:
            log.info("DataStore.from_dir: no observation index '%s'", obs_path)
            obs_table = None
        return cls(hdu_table=hdu_table, obs_table=obs_table)

    @classmethod
    def from_file(cls, filename, hdu_hdu="HDU_INDEX", hdu_obs="OBS_INDEX", allow_outside=False):
        """Data store from one FITS file holding both index tables."""
        hdu_table = HDUIndexTable.read(filename, hdu=hdu_hdu, allow_outside=allow_outside)
        obs_table = ObservationTable.read(filename, hdu=hdu_obs) if hdu_obs else None
        return cls(hdu_table=hdu_table, obs_table=obs_table)

    # ------------------------------------------------------------------ summaries
    @property
    def obs_ids(self) -> np.ndarray:
        """Sorted observation ids of the HDU index."""
        return self.hdu_table.obs_id_unique

    def info(self, show=True):
        """Summary of the two index tables (printed, or returned with ``show=False``)."""
        text = "Data store:\n" + self.hdu_table.summary() + "\n\n"
        text += (
            self.obs_table.summary()
            if self.obs_table is not None
            else "No observation index table."
        )
        if show:
            print(text)
            return None
        return text

    def __str__(self):
        return self.info(show=False)

    # ------------------------------------------------------------------ observations
    def _required(self, required_irf, require_events) -> tuple[str, ...]:
        if isinstance(required_irf, str):
            if required_irf not in REQUIRED_IRFS:
                raise DatasetError(
                    f"required_irf {required_irf!r} is not one of {sorted(REQUIRED_IRFS)} "
                    f"or a list of {list(IRF_TYPES)}"
                )
            required = REQUIRED_IRFS[required_irf]
        else:
            required = tuple(required_irf or ())
            unknown = set(required).difference(IRF_TYPES)
            if unknown:
                raise DatasetError(
                    f"required_irf: {sorted(unknown)} not valid, choose from {list(IRF_TYPES)}"
                )
        if require_events:
            required = ("events", "gti", *required)
        return required

    def obs(self, obs_id, required_irf="full-enclosure", require_events=True) -> Observation:
        """One observation (lazy: nothing is read yet).

        Raises
        ------
        DatasetError
            ``obs_id`` is not in the HDU index.
        FormatError
            A required HDU is not in the HDU index (the message lists what is there).
        """
        obs_id = int(obs_id)
        rows = self.hdu_table.row_idx(obs_id)
        if not rows:
            raise DatasetError(
                f"observation {obs_id} is not in the HDU index '{self.hdu_table.index_file}'"
            )
        locations = {}
        for hdu_type in _ALL_HDUS:
            location = self.hdu_table.hdu_location(obs_id, hdu_type=hdu_type, warn_missing=False)
            if location is not None:
                locations[hdu_type] = location
        required = self._required(required_irf, require_events)
        missing = [name for name in required if name not in locations]
        if missing:
            raise FormatError(
                f"observation {obs_id}: required HDU(s) {missing} not in the HDU index "
                f"'{self.hdu_table.index_file}' (present: {sorted(locations)})"
            )
        source = _ObservationSource(obs_id, locations, index_file=self.hdu_table.index_file)
        return Observation._from_source(source)

    def get_observations(
        self,
        obs_id=None,
        skip_missing=False,
        required_irf="full-enclosure",
        require_events=True,
        selection=None,
    ) -> Observations:
        """Observations of the given ids (all ids of the HDU index by default, sorted).

        Parameters
        ----------
        obs_id : list of int, optional
            Ids, kept in the given order.
        skip_missing : bool
            Skip ids absent from the HDU index (with a warning) instead of raising.
        required_irf : str or list of str
            ``"full-enclosure"`` (aeff, edisp, psf, bkg), ``"point-like"`` (aeff, edisp),
            ``"all-optional"``, or a list of IRF types. Observations lacking one are skipped
            with a warning, as Gammapy does.
        require_events : bool
            Also require events and GTI.
        selection : array of bool, optional
            Mask over `obs_ids` restricting the candidates.
        """
        available = [int(x) for x in self.obs_ids]
        if selection is not None:
            selection = np.asarray(selection, dtype=bool)
            if selection.shape != (len(available),):
                raise DatasetError(
                    f"selection has shape {selection.shape}, expected ({len(available)},)"
                )
            candidates = {x for x, keep in zip(available, selection) if keep}
        else:
            candidates = set(available)
        if obs_id is None:
            ids = [x for x in available if x in candidates]
        else:
            ids = []
            known = set(available)
            for value in np.atleast_1d(np.asarray(obs_id)):
                value = int(value)
                if value not in known:
                    if skip_missing:
                        log.warning("Skipping observation %s: not in the HDU index", value)
                        continue
                    raise DatasetError(
                        f"observation {value} is not in the HDU index '{self.hdu_table.index_file}'"
                    )
                if value in candidates:
                    ids.append(value)
            if len(set(ids)) != len(ids):
                log.warning("get_observations: repeated obs_id in %s", ids)
        observations = []
        for value in ids:
            try:
                observations.append(self.obs(value, required_irf, require_events))
            except FormatError as exc:
                log.warning("Skipping observation %s: %s", value, exc)
        log.info("Observations selected: %d out of %d", len(observations), len(ids))
        return Observations(observations)
