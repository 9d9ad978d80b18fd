"""Time selection of datasets through their good time intervals.

Datasets carry a ``gti``: a `fluxfit.data.GTI` (astropy Times) or the OGIP
`fluxfit.datasets.ogip.GoodTimeIntervals` (seconds since MJDREF in the header).
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.time import Time

from fluxfit.data._time import time_ref_from_header, time_unit_from_header
from fluxfit.datasets.core import Datasets
from fluxfit.errors import DatasetError, FluxfitError

__all__ = ["dataset_time_bounds", "gti_time_bounds", "select_datasets_time"]

log = logging.getLogger(__name__)

_ATOL_DEFAULT = 1e-6 * u.s


def gti_time_bounds(gti, where: str = "GTI") -> tuple[Time, Time]:
    """Starts and stops of good time intervals as `~astropy.time.Time` arrays.

    Parameters
    ----------
    gti : `fluxfit.data.GTI`, `fluxfit.datasets.GoodTimeIntervals` or `~astropy.table.Table`
        A fluxfit GTI (``time_start``/``time_stop``), an OGIP GTI (``start``/``stop`` in
        seconds and a header with ``MJDREFI``/``MJDREFF`` or ``MJDREF``, ``TIMESYS``,
        ``TIMEUNIT``, optional ``TIMEZERO``), or a table with ``START``/``STOP`` and those
        keys in its ``meta``.
    where : str
        Names the owner in error messages.

    Returns
    -------
    start, stop : `~astropy.time.Time`
        1-D, in the scale of the GTI's reference.

    Examples
    --------
    >>> from astropy.io import fits
    >>> from fluxfit.datasets import GoodTimeIntervals
    >>> header = fits.Header({"MJDREFI": 51910, "MJDREFF": 7.428703703703703e-4,
    ...                       "TIMESYS": "TT"})
    >>> start, stop = gti_time_bounds(GoodTimeIntervals([0.0, 100.0], [50.0, 200.0], header))
    >>> (stop - start).to_value("s").round(6).tolist()
    [50.0, 100.0]
    """
    if hasattr(gti, "time_start") and hasattr(gti, "time_stop"):
        return _time_1d(gti.time_start), _time_1d(gti.time_stop)
    if isinstance(gti, Table):
        header = gti.meta
        start, stop = gti["START"], gti["STOP"]
        unit = getattr(start, "unit", None)
        factor = None if unit is None else u.Unit(unit).to(u.s)
        start = np.asarray(start, dtype=float)
        stop = np.asarray(stop, dtype=float)
    elif hasattr(gti, "start") and hasattr(gti, "stop"):
        header = getattr(gti, "header", None) or {}
        start = np.asarray(gti.start, dtype=float)
        stop = np.asarray(gti.stop, dtype=float)
        factor = None
    else:
        raise DatasetError(f"{where}: cannot read times from a {type(gti).__name__}")
    try:
        reference = time_ref_from_header(header, where)
        if factor is None:
            factor = time_unit_from_header(header, where)
    except FluxfitError as exc:
        raise DatasetError(
            f"{where}: the GTI times cannot be placed in time ({exc}); its header needs "
            "MJDREFI/MJDREFF (or MJDREF)"
        ) from exc
    zero = float(header.get("TIMEZERO", 0.0) or 0.0)
    start = np.atleast_1d((start + zero) * factor)
    stop = np.atleast_1d((stop + zero) * factor)
    return reference + u.Quantity(start, u.s), reference + u.Quantity(stop, u.s)


def _time_1d(times) -> Time:
    times = Time(times)
    return times.reshape(1) if times.ndim == 0 else times


def dataset_time_bounds(datasets, reference_time=None) -> tuple[np.ndarray, np.ndarray, Time]:
    """First GTI start and last GTI stop of every dataset, in seconds since a reference.

    The GTIs are read with `gti_time_bounds` (any GTI kind; TIMEZERO; rows in any order).

    Parameters
    ----------
    datasets : iterable of datasets with a ``gti``
    reference_time : `~astropy.time.Time`, optional
        Default: the earliest start.

    Returns
    -------
    start, stop : `~numpy.ndarray`
        Seconds (NaN for a dataset whose GTI table is empty: it is in no interval).
    reference_time : `~astropy.time.Time` or None
        None when no dataset has any good time (and no ``reference_time`` was given).

    Raises
    ------
    DatasetError
        A dataset without GTI (it cannot be placed in time), or a GTI without time reference.
    """
    datasets = list(datasets)
    firsts, lasts, present = [], [], []
    for i, dataset in enumerate(datasets):
        gti = getattr(dataset, "gti", None)
        name = getattr(dataset, "name", f"#{i}")
        if gti is None:
            raise DatasetError(
                f"dataset {name!r} has no GTI: it cannot be placed in a time interval"
            )
        start, stop = gti_time_bounds(gti, where=f"dataset {name!r} GTI")
        if start.size == 0:
            log.warning("dataset %r has an empty GTI table: it is in no time interval", name)
            continue
        firsts.append(start.min())
        lasts.append(stop.max())
        present.append(i)
    start = np.full(len(datasets), np.nan)
    stop = np.full(len(datasets), np.nan)
    if not present:
        return start, stop, None if reference_time is None else Time(reference_time)
    firsts = Time(firsts)
    lasts = Time(lasts)
    reference = firsts.min() if reference_time is None else Time(reference_time)
    start[present] = (firsts - reference).to_value(u.s)
    stop[present] = (lasts - reference).to_value(u.s)
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
