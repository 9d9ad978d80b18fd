"""`LightCurveEstimator`: the flux of one source per time interval (and energy group).

Gammapy 2.1's ``LightCurveEstimator``: in each time interval the datasets that lie inside
it are selected (``Datasets.select_time``: first GTI start >= interval start - ``atol`` and
last GTI stop <= interval stop + ``atol``), and the source's norm is fitted on them, jointly,
in each energy group, with the spectral shape fixed -- flux points per interval. Intervals
without any dataset are dropped (and logged); the result is a `~fluxfit.datasets.FluxPoints`
with the axes ``[energy, time]`` (a `~fluxfit.maps.TimeMapAxis` of the kept intervals),
written and read in the ``lightcurve`` table format, plotted against time
(``plot(axis_name="time")``). Without ``time_intervals`` there is one interval per dataset
(its first GTI start to its last GTI stop; datasets whose spans overlap share one).

Without ``reoptimize`` (the default) nothing is copied per interval: the counts, masks and
predicted counts of every dataset are computed once (`~fluxfit.estimators.core.dataset_arrays`)
and every (interval, energy group) is one group of a single
`~fluxfit.estimators.norm_solver.NormProblem`, solved in one vectorised call. With
``reoptimize=True`` (the other free parameters refitted in each bin) or a statistic without
a closed-form norm profile, each interval is an independent task of
`fluxfit.parallel.run_tasks` (``n_jobs``, ``parallel_backend``) fitted with `~fluxfit.fit.Fit`.

The per-dataset quantities ``counts``, ``npred`` and ``npred_excess`` run over all the
datasets given, NaN for those outside the interval (Gammapy's ``expand_map``).

Examples
--------
>>> import astropy.units as u
>>> import numpy as np
>>> from astropy.time import Time
>>> from fluxfit.estimators import LightCurveEstimator
>>> t0 = Time("2006-07-29T20:30", scale="utc")
>>> edges = t0 + np.arange(3) * 15 * u.min
>>> intervals = [Time([a, b]) for a, b in zip(edges[:-1], edges[1:])]
>>> estimator = LightCurveEstimator(energy_edges=[0.7, 20] * u.TeV, time_intervals=intervals,
...                                 source="pks2155", selection_optional=["ul"])
>>> len(estimator.time_intervals)
2
>>> # lightcurve = estimator.run(datasets); lightcurve.plot(axis_name="time", sed_type="flux")
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
from astropy.time import Time

from fluxfit.datasets.time import _time_1d, dataset_time_bounds, gti_time_bounds
from fluxfit.errors import DatasetError
from fluxfit.estimators.core import (
    EstimatorError,
    add_group,
    dataset_arrays,
    reshape_group_results,
    snap_energy_edges,
    stack_group_results,
)
from fluxfit.estimators.norm_solver import NormProblem
from fluxfit.estimators.points import (
    FluxPointsEstimator,
    _datasets_gti,
    _group_dataset,
    _result_axis,
)
from fluxfit.maps import TimeMapAxis
from fluxfit.parallel import run_tasks

__all__ = ["LightCurveEstimator", "gti_time_bounds"]

log = logging.getLogger(__name__)

_PER_DATASET = ("counts", "npred", "npred_excess")


# --------------------------------------------------------------------------- times
def _datasets_time_bounds(datasets, reference_time=None):
    """`fluxfit.datasets.time.dataset_time_bounds`, its errors as `EstimatorError`."""
    try:
        return dataset_time_bounds(datasets, reference_time)
    except DatasetError as exc:
        raise EstimatorError(str(exc)) from exc


def _membership(start, stop, lo, hi, atol: float) -> np.ndarray:
    """(n_intervals, n_datasets): dataset inside interval (all in seconds, one reference)."""
    with np.errstate(invalid="ignore"):
        return (start[None, :] >= lo[:, None] - atol) & (stop[None, :] <= hi[:, None] + atol)


def _as_intervals(time_intervals) -> tuple[Time, Time]:
    """(starts, stops) of a list of ``Time([start, stop])``, an (n, 2) Time or a TimeMapAxis."""
    if hasattr(time_intervals, "time_min") and hasattr(time_intervals, "time_max"):
        return _time_1d(time_intervals.time_min), _time_1d(time_intervals.time_max)
    if isinstance(time_intervals, Time):
        if time_intervals.shape == (2,):
            time_intervals = time_intervals.reshape(1, 2)
        if time_intervals.ndim != 2 or time_intervals.shape[1] != 2:
            raise EstimatorError(
                f"time_intervals: expected (n, 2) times, got shape {time_intervals.shape}"
            )
        return time_intervals[:, 0], time_intervals[:, 1]
    starts, stops = [], []
    for interval in time_intervals:
        try:
            interval = Time(interval)
        except (TypeError, ValueError) as exc:
            raise EstimatorError(
                f"time_intervals: each interval must be Time([start, stop]), got {interval!r}"
            ) from exc
        if interval.shape != (2,):
            raise EstimatorError(
                f"time_intervals: each interval must be Time([start, stop]), got shape "
                f"{interval.shape}"
            )
        starts.append(interval[0])
        stops.append(interval[1])
    if not starts:
        raise EstimatorError("time_intervals: no interval given")
    return Time(starts), Time(stops)


# ----------------------------------------------------------------------- estimator
class LightCurveEstimator(FluxPointsEstimator):
    """Light curve: the source's norm fitted per time interval and energy group.

    Parameters
    ----------
    energy_edges : `~astropy.units.Quantity`, optional
        Energy groups, snapped to each dataset's bin edges; None: every bin of the first
        dataset.
    time_intervals : list of `~astropy.time.Time`, (n, 2) Time or `~fluxfit.maps.TimeMapAxis`
        The intervals ``Time([start, stop])`` (must not overlap). None: one per dataset,
        its first GTI start to its last GTI stop (Gammapy).
    source : str or int
        The source (model name or index in ``datasets.models``).
    atol : `~astropy.units.Quantity` or str
        Tolerance of the time selection (default 1e-6 s).
    selection_optional : list of str or "all", optional
        "errn-errp", "ul", "scan".
    reoptimize : bool
        Refit the other free parameters in every bin (general path: `~fluxfit.fit.Fit`
        per bin, intervals in parallel through `fluxfit.parallel.run_tasks`).
    n_jobs : int, optional
        Workers for the intervals of the general path (-1: all cores).
    parallel_backend : {"serial", "multiprocessing", "ray"}, optional
    n_sigma, n_sigma_ul, norm, fit, sum_over_energy_groups
        As `~fluxfit.estimators.FluxPointsEstimator`.

    Notes
    -----
    Intervals no dataset lies in are dropped (logged at INFO level, as Gammapy); if none
    is left, `EstimatorError` is raised. An interval whose datasets have no fitted bin in
    an energy group gives NaN there with ``success=False``.
    """

    tag = "LightCurveEstimator"

    def __init__(self, energy_edges=None, time_intervals=None, atol="1e-6 s", **kwargs):
        if time_intervals is not None:
            starts, stops = _as_intervals(time_intervals)
            if np.any((stops - starts).to_value(u.s) <= 0):
                raise EstimatorError("time_intervals: every interval must end after it starts")
        self.time_intervals = time_intervals
        atol = u.Quantity(atol)
        if not atol.unit.is_equivalent(u.s) or atol.value < 0:
            raise EstimatorError(f"atol must be a non-negative time, got {atol!r}")
        self.atol = atol
        super().__init__(energy_edges=energy_edges, **kwargs)

    # ---------------------------------------------------------------- intervals
    def _intervals(self, start, stop, reference):
        """(lo, hi) seconds since ``reference`` of the intervals, sorted, and their Times."""
        if self.time_intervals is None:
            ok = np.isfinite(start)
            lo, hi = start[ok], stop[ok]
            order = np.argsort(lo, kind="stable")
            lo, hi = lo[order], hi[order]
            merged_lo, merged_hi = [], []
            for a, b in zip(lo, hi):
                if merged_hi and a < merged_hi[-1]:  # overlapping spans: one interval
                    merged_hi[-1] = max(merged_hi[-1], b)
                    continue
                merged_lo.append(a)
                merged_hi.append(b)
            if len(merged_lo) < lo.size:
                log.info(
                    "%s: datasets overlapping in time share an interval (%d datasets, %d "
                    "intervals)",
                    self.tag,
                    lo.size,
                    len(merged_lo),
                )
            lo, hi = np.array(merged_lo), np.array(merged_hi)
            return lo, hi, reference + u.Quantity(lo, u.s), reference + u.Quantity(hi, u.s)
        t_min, t_max = _as_intervals(self.time_intervals)
        lo = np.atleast_1d((t_min - reference).to_value(u.s))
        hi = np.atleast_1d((t_max - reference).to_value(u.s))
        order = np.argsort(lo, kind="stable")
        lo, hi, t_min, t_max = lo[order], hi[order], t_min[order], t_max[order]
        if np.any(lo[1:] < hi[:-1]):
            raise EstimatorError(f"{self.tag}: the time intervals overlap")
        return lo, hi, t_min, t_max

    # ----------------------------------------------------------------------- run
    def run(self, datasets):
        """Light curve of the source.

        Parameters
        ----------
        datasets : `~fluxfit.datasets.Datasets` or list
            Datasets with GTIs (spectrum, ON/OFF or map datasets) and the models.

        Returns
        -------
        `~fluxfit.datasets.FluxPoints`
            SED type "likelihood", axes ``[energy, time]``.
        """
        datasets = self._as_datasets(datasets)
        if len(datasets) == 0:
            raise EstimatorError(f"{self.tag}: no datasets")
        source = self.source_model(datasets)
        start, stop, reference = _datasets_time_bounds(datasets)
        if reference is None:
            raise EstimatorError(f"{self.tag}: no dataset has any good time interval")
        lo, hi, t_min, t_max = self._intervals(start, stop, reference)
        inside = _membership(start, stop, lo, hi, self.atol.to_value(u.s))
        used = inside.any(axis=1)
        for k in np.flatnonzero(~used):
            log.info(
                "%s: no dataset in the time interval %s to %s; skipping it",
                self.tag,
                t_min[k].isot,
                t_max[k].isot,
            )
        if not used.any():
            raise EstimatorError(f"{self.tag}: no datasets in the time intervals")
        inside = inside[used]
        t_min, t_max = t_min[used], t_max[used]
        n_bins = int(used.sum())

        members = [np.flatnonzero(row) for row in inside]
        used_datasets = np.flatnonzero(inside.any(axis=0))
        # each dataset's arrays once (None for the datasets in no interval)
        arrays = [None] * len(datasets)
        for d in used_datasets:
            arrays[d] = dataset_arrays(datasets[int(d)], source.name)
        used_arrays = [arrays[d] for d in used_datasets]
        edges = self.energy_edges
        if edges is None:
            edges = used_arrays[0].energy_axis.edges
        n_energy = edges.size - 1
        snaps = [None if a is None else snap_energy_edges(a.energy_axis, edges) for a in arrays]
        energy_axis = _result_axis(used_arrays, [snaps[d] for d in used_datasets], edges)

        if self._needs_general_path(datasets, used_arrays):
            results = self._run_general(
                datasets, arrays, snaps, source.name, members, t_min, n_energy
            )
        else:
            problem = NormProblem(n_bins * n_energy, len(datasets))
            for k, idx in enumerate(members):
                for d in idx:
                    i0, i1, ok = snaps[d]
                    for g in np.flatnonzero(ok):
                        rows = slice(i0[g], i1[g] + 1)
                        group = k * n_energy + g
                        add_group(problem, group, d, arrays[d], rows, self.sum_over_energy_groups)
            problem.finalize()
            results = reshape_group_results(self.solve(problem), (n_bins, n_energy))
        outside = ~inside  # (n_bins, n_datasets)
        for key in _PER_DATASET:
            if key in results:
                values = np.array(results[key], dtype=float)
                values[np.broadcast_to(outside[:, None, :], values.shape)] = np.nan
                results[key] = values
        time_axis = TimeMapAxis.from_time_edges(t_min, t_max, unit="d")
        selected = [datasets[int(d)] for d in used_datasets]
        return self.flux_points(
            results,
            [energy_axis, time_axis],
            source.spectral_model.copy(),
            gti=_datasets_gti(selected),
        )

    def _run_general(self, datasets, arrays, snaps, source_name, members, t_min, n_energy):
        """Every time bin a task of `fluxfit.parallel.run_tasks` (fits with `~fluxfit.fit.Fit`)."""
        labels = [f"time interval {k} ({t.isot})" for k, t in enumerate(t_min)]
        rows = run_tasks(
            _fit_time_bin,
            [np.asarray(idx) for idx in members],
            shared=(self, datasets, arrays, snaps, source_name, n_energy),
            n_jobs=self.n_jobs,
            backend=self.parallel_backend,
            labels=labels,
            desc="light curve",
        )
        return _stack_bins(rows)


def _fit_time_bin(shared, members):
    """All energy groups of one time bin by the general path (module level: picklable).

    Only the bin's datasets are copied (restricted to one energy group at a time); the
    per-dataset quantities are returned over all datasets (NaN outside the bin).
    """
    estimator, datasets, arrays, snaps, source_name, n_energy = shared
    n_all = len(datasets)
    selected = _Subset([datasets[int(i)].name for i in members], datasets.models)
    rows = []
    for g in range(n_energy):
        group = []
        for d in members:
            i0, i1, ok = snaps[d]
            if not ok[g]:
                group.append(None)
                continue
            group.append(
                _group_dataset(
                    datasets[int(d)], arrays[d], i0[g], i1[g], estimator.sum_over_energy_groups
                )
            )
        row = estimator.estimate_group_fit(selected, group, source_name)
        for key in _PER_DATASET:
            full = np.full(n_all, np.nan)
            full[members] = row[key]
            row[key] = full
        rows.append(row)
    return stack_group_results(rows)


class _Subset:
    """What `~fluxfit.estimators.core.FluxEstimator.estimate_group_fit` reads of the bin's
    datasets (names and models), without assigning the models to them again."""

    def __init__(self, names, models):
        self.names = list(names)
        self.models = models

    def __len__(self) -> int:
        return len(self.names)


def _stack_bins(bins: list[dict]) -> dict:
    """Per-bin result dicts (arrays over the energy groups) stacked over the time bins."""
    out = {}
    for key in bins[0]:
        if key == "norm_scan":
            out[key] = bins[0][key]
            continue
        out[key] = np.stack([np.asarray(b[key]) for b in bins])
    return out
