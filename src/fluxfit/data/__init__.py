"""fluxfit.data: GADF DL3 data access (IACT event lists, GTIs, observations, data stores).

- `DataStore` (`DataStore.from_dir`): HDU index (`HDUIndexTable`) + observation index
  (`ObservationTable`, with Gammapy's selection dicts) -> `Observations`.
- `Observation`: ``events`` (`EventList`), ``gti`` (`GTI`), ``aeff``, ``edisp``, ``psf``,
  ``bkg`` (`fluxfit.irf.gadf`), all read on first use; ``select_time`` makes time pieces.
- `Observations`: list with ``ids`` and ``select_time(time_intervals)``.

Examples
--------
>>> from fluxfit.data import GTI
>>> GTI([0.0, 100.0], [50.0, 160.0]).time_sum
<Quantity 110. s>
"""

from .data_store import REQUIRED_IRFS, DataStore
from .event_list import EventList
from .gti import GTI
from .hdu_index_table import HDUIndexTable, HDULocation
from .obs_table import ObservationTable
from .observations import Observation, Observations

__all__ = [
    "DataStore",
    "EventList",
    "GTI",
    "HDUIndexTable",
    "HDULocation",
    "Observation",
    "ObservationTable",
    "Observations",
    "REQUIRED_IRFS",
]
