"""Time selection of datasets through their good time intervals.

Datasets carry a ``gti``: a `fluxfit.data.GTI` (astropy Times) or the OGIP
`fluxfit.datasets.ogip.GoodTimeIntervals` (seconds since MJDREF in the header).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from astropy.time import Time, TimeDelta

from fluxfit.datasets.core import Datasets
from fluxfit.errors import DatasetError

__all__ = ["dataset_time_bounds", "select_datasets_time"]

_ATOL_DEFAULT = 1e-6 * u.s


def _gti_times(dataset) -> tuple[Time, Time] | None:
    """First GTI start and last GTI stop of a dataset (None for an empty GTI table)."""
    gti = getattr(dataset, "gti", None)
    if gti is None:
        raise DatasetError(f"dataset {dataset.name!r} has no GTI: it cannot be selected in time")
    if hasattr(gti, "time_start") and hasattr(gti, "time_stop"):  # fluxfit.data.GTI
        if len(gti) == 0:
            return None
        return gti.time_start[0], gti.time_stop[-1]
    start, stop = np.asarray(gti.start, float), np.asarray(gti.stop, float)
    if start.size == 0:
        return None
    header = getattr(gti, "header", {}) or {}
    if "MJDREFI" in header:
        mjdref_int, mjdref_frac = float(header["MJDREFI"]), float(header.get("MJDREFF", 0.0))
    elif "MJDREF" in header:
        mjdref_int, mjdref_frac = float(header["MJDREF"]), 0.0
    else:
        raise DatasetError(
            f"dataset {dataset.name!r}: its GTI header has no MJDREFI/MJDREFF (or MJDREF); "
            "the GTI times cannot be converted"
        )
    scale = str(header.get("TIMESYS", "TT")).strip().lower()
    unit = u.Unit(str(header.get("TIMEUNIT", "s")).strip() or "s")
    reference = Time(mjdref_int, mjdref_frac, format="mjd", scale=scale)
    factor = unit.to(u.s)
    return (
        reference + TimeDelta(start[0] * factor, format="sec"),
        reference + TimeDelta(stop[-1] * factor, format="sec"),
    )


def dataset_time_bounds(datasets, reference_time=None) -> tuple[np.ndarray, np.ndarray, Time]:
    """Start and stop of every dataset in seconds since ``reference_time``.

    Parameters
    ----------
    datasets : iterable of datasets with a ``gti``
    reference_time : `~astropy.time.Time`, optional
        Default: the start of the first dataset.

    Returns
    -------
    start, stop : `~numpy.ndarray`
        First GTI start and last GTI stop of each dataset (s); NaN for an empty GTI table
        (such a dataset is in no interval).
    reference_time : `~astropy.time.Time`
    """
    bounds = [_gti_times(d) for d in datasets]
    present = [i for i, b in enumerate(bounds) if b is not None]
    start = np.full(len(bounds), np.nan)
    stop = np.full(len(bounds), np.nan)
    if not present:
        return start, stop, None if reference_time is None else Time(reference_time)
    starts = Time([bounds[i][0] for i in present])
    stops = Time([bounds[i][1] for i in present])
    reference = starts[0] if reference_time is None else Time(reference_time)
    start[present] = (starts - reference).to_value(u.s)
    stop[present] = (stops - reference).to_value(u.s)
    return start, stop, reference


def select_datasets_time(datasets, time_min, time_max, atol=_ATOL_DEFAULT) -> Datasets:
    """The datasets lying inside ``[time_min, time_max]`` (Gammapy's ``Datasets.select_time``).

    A dataset is selected when its first GTI start is >= ``time_min - atol`` and its last
    GTI stop <= ``time_max + atol``.

    Examples
    --------
    >>> from astropy.time import Time
    >>> from fluxfit.datasets import Datasets
    >>> from fluxfit.datasets.time import select_datasets_time
    >>> len(select_datasets_time(Datasets([]), Time("2020-01-01"), Time("2020-01-02")))
    0
    """
    datasets = list(datasets)
    if not datasets:
        return Datasets([])
    atol = u.Quantity(atol, u.s).to_value(u.s)
    start, stop, reference = dataset_time_bounds(datasets)
    if reference is None:
        return Datasets([])
    tmin = (Time(time_min) - reference).to_value(u.s)
    tmax = (Time(time_max) - reference).to_value(u.s)
    keep = (start >= tmin - atol) & (stop <= tmax + atol)
    return Datasets([d for d, k in zip(datasets, keep) if k])
