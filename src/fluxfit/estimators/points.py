"""`FluxPointsEstimator`: the flux of one source in energy groups (an SED).

In each energy group the source's spectral shape is kept and its amplitude is
refitted through a ``norm`` (``dnde = norm * reference_model(e_ref)``). The
groups are the requested ``energy_edges`` snapped to the bin edges of each
dataset (Gammapy's ``slice_by_energy``); several datasets are fitted jointly
(their statistics summed).

Without ``reoptimize`` (the default) every group is a one-dimensional problem
on fixed predicted counts, and all groups are solved together
(`fluxfit.estimators.norm_solver`): the models are evaluated once per dataset,
not once per fit step. ``reoptimize=True`` refits the other free parameters in
each group with `~fluxfit.fit.Fit` (the general path).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.estimators import FluxPointsEstimator
>>> estimator = FluxPointsEstimator(
...     energy_edges=[1, 3, 10] * u.TeV, source="crab", selection_optional="all"
... )
>>> estimator.selection_optional
['errn-errp', 'ul', 'scan']
>>> # flux_points = estimator.run(datasets); flux_points.plot(sed_type="e2dnde")
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np

from fluxfit.errors import FluxfitError
from fluxfit.estimators.core import (
    EstimatorError,
    FluxEstimator,
    _data,
    add_group,
    dataset_arrays,
    snap_energy_edges,
    stack_group_results,
)
from fluxfit.estimators.norm_solver import NormProblem
from fluxfit.maps import MapAxis
from fluxfit.parallel import BACKENDS, run_tasks

__all__ = ["FluxPointsEstimator"]

log = logging.getLogger(__name__)


class FluxPointsEstimator(FluxEstimator):
    """Flux points: the source's norm fitted in energy groups.

    Parameters
    ----------
    energy_edges : `~astropy.units.Quantity`, optional
        Edges of the flux-point bins; snapped to the nearest bin edges of each
        dataset's energy axis. None: every bin of the first dataset's axis.
    sum_over_energy_groups : bool
        Fit the summed counts of each group (one bin per pixel, Gammapy's
        ``to_image``) instead of the energy bins inside it.
    n_jobs : int, optional
        Number of workers for the per-group fits of the general path (-1: all
        cores; None: `fluxfit.parallel` defaults). The fast path solves all groups
        in one vectorised call and does not need them.
    parallel_backend : {"serial", "multiprocessing", "ray"}, optional
        Backend of `fluxfit.parallel.run_tasks` for the general path.
    **kwargs
        `~fluxfit.estimators.FluxEstimator` options: ``source``, ``n_sigma``,
        ``n_sigma_ul``, ``selection_optional``, ``fit``, ``reoptimize``, ``norm``.

    Notes
    -----
    The result's ``e_min``/``e_max`` are the snapped edges (the union over the
    datasets), its reference model a copy of the source's spectral model. A group
    no dataset contributes to has NaN values and ``success=False``.
    """

    tag = "FluxPointsEstimator"

    def __init__(
        self,
        energy_edges=None,
        sum_over_energy_groups: bool = False,
        n_jobs: int | None = None,
        parallel_backend: str | None = None,
        **kwargs,
    ):
        if energy_edges is not None:
            energy_edges = u.Quantity(energy_edges)
            if energy_edges.ndim != 1 or energy_edges.size < 2:
                raise EstimatorError("energy_edges: give at least two edges")
            if not np.all(np.diff(energy_edges.value) > 0):
                raise EstimatorError("energy_edges must be strictly increasing")
        self.energy_edges = energy_edges
        self.sum_over_energy_groups = bool(sum_over_energy_groups)
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer)
        ):
            raise EstimatorError(f"n_jobs must be an integer or None, got {n_jobs!r}")
        if parallel_backend is not None and parallel_backend not in BACKENDS:
            raise EstimatorError(
                f"parallel_backend must be one of {BACKENDS} or None, got {parallel_backend!r}"
            )
        self.n_jobs = n_jobs
        self.parallel_backend = parallel_backend
        super().__init__(**kwargs)

    # ------------------------------------------------------------------ run
    def run(self, datasets):
        """Flux points of the source in every energy group.

        Parameters
        ----------
        datasets : `~fluxfit.datasets.Datasets`, list or a dataset
            The datasets (with their models) fitted jointly.

        Returns
        -------
        `~fluxfit.datasets.FluxPoints`
            SED type "likelihood": ``norm``, ``norm_err``, ``ts``, ``npred``,
            ``npred_excess``, ``stat``, ``stat_null``, ``counts``, ``success`` and
            the optional quantities.
        """
        datasets = self._as_datasets(datasets)
        if len(datasets) == 0:
            raise EstimatorError(f"{self.tag}: no datasets")
        source = self.source_model(datasets)
        arrays = [dataset_arrays(d, source.name) for d in datasets]
        edges = self.energy_edges
        if edges is None:
            edges = arrays[0].energy_axis.edges
        n_groups = edges.size - 1
        snaps = [snap_energy_edges(a.energy_axis, edges) for a in arrays]
        axis = _result_axis(arrays, snaps, edges)
        if self._needs_general_path(datasets, arrays):
            results = self._run_general(datasets, arrays, snaps, source.name, n_groups)
        else:
            problem = NormProblem(n_groups, len(datasets))
            for g in range(n_groups):
                for d, (a, (i0, i1, ok)) in enumerate(zip(arrays, snaps)):
                    if ok[g]:
                        add_group(
                            problem, g, d, a, slice(i0[g], i1[g] + 1), self.sum_over_energy_groups
                        )
            problem.finalize()
            results = self.solve(problem)
        return self.flux_points(
            results, [axis], source.spectral_model.copy(), gti=_datasets_gti(datasets)
        )

    def _run_general(self, datasets, arrays, snaps, source_name, n_groups):
        """Every group fitted with `~fluxfit.fit.Fit`: independent tasks of `fluxfit.parallel`."""
        tasks, labels = [], []
        for g in range(n_groups):
            group = []
            for dataset, a, (i0, i1, ok) in zip(datasets, arrays, snaps):
                if not ok[g]:
                    group.append(None)
                    continue
                group.append(_group_dataset(dataset, a, i0[g], i1[g], self.sum_over_energy_groups))
            tasks.append(group)
            labels.append(f"energy group {g}")
        rows = run_tasks(
            _fit_group,
            tasks,
            shared=(self, datasets, source_name),
            n_jobs=self.n_jobs,
            backend=self.parallel_backend,
            labels=labels,
            desc="flux points",
        )
        return stack_group_results(rows)


def _fit_group(shared, group_datasets):
    """One energy group by the general path (module level: picklable for process pools)."""
    estimator, datasets, source_name = shared
    return estimator.estimate_group_fit(datasets, group_datasets, source_name)


# ---------------------------------------------------------------- helpers
def _result_axis(arrays, snaps, edges) -> MapAxis:
    """Energy axis of the result: the snapped group edges (union over the datasets).

    A group no dataset contributes to keeps the requested edges, or its neighbours'
    snapped ones where it touches them.
    """
    unit = edges.unit
    n = edges.size - 1
    lo = np.full(n, np.inf)
    hi = np.full(n, -np.inf)
    for a, (i0, i1, ok) in zip(arrays, snaps):
        axis_edges = a.energy_axis.edges.to_value(unit)
        nbin = a.energy_axis.nbin
        lo = np.where(ok, np.minimum(lo, axis_edges[np.clip(i0, 0, nbin)]), lo)
        hi = np.where(ok, np.maximum(hi, axis_edges[np.clip(i1 + 1, 0, nbin)]), hi)
    requested = edges.value
    some = np.isfinite(lo)
    for i in np.flatnonzero(~some):
        lo[i] = hi[i - 1] if i > 0 and some[i - 1] else requested[i]
        hi[i] = lo[i + 1] if i + 1 < n and some[i + 1] else requested[i + 1]
    out = np.append(lo, hi[-1])
    contiguous = np.allclose(hi[:-1], lo[1:], rtol=1e-9, atol=0)
    if not contiguous or not np.all(np.diff(out) > 0):
        log.warning(
            "flux points: the snapped group edges are not contiguous (datasets with "
            "different energy axes, or groups narrower than a bin); the requested energy "
            "edges are used for the result axis"
        )
        out = requested
    return MapAxis.from_energy_edges(u.Quantity(out, unit), name="energy")


def _set_mask_fit(dataset, mask) -> None:
    shape = _data(dataset.counts).shape
    mask = np.asarray(mask, dtype=bool).reshape(shape)
    try:
        dataset.mask_fit = mask
    except (TypeError, ValueError, AttributeError, FluxfitError):
        from fluxfit.maps import Map

        dataset.mask_fit = Map.from_geom(dataset.counts.geom, data=mask, dtype=bool)


def _group_dataset(dataset, arrays, i0: int, i1: int, sum_over_energy_groups: bool):
    """A copy of ``dataset`` whose fitted channels are the bins ``i0..i1`` (or their sum)."""
    n_e = arrays.energy_axis.nbin
    if sum_over_energy_groups:
        safe = arrays.mask_safe[i0 : i1 + 1].any(axis=1)
        idx = np.flatnonzero(safe)
        if idx.size == 0:
            return None
        start, stop = i0 + idx[0], i0 + idx[-1] + 1
        if not (hasattr(dataset, "slice_by_idx") and hasattr(dataset, "group")):
            raise EstimatorError(
                f"sum_over_energy_groups on the general path needs a dataset with "
                f"slice_by_idx() and group(); {type(dataset).__name__} has none"
            )
        if not arrays.mask_safe[start:stop].all():
            log.warning(
                "%s: unsafe bins inside energy group %d-%d are summed with the others",
                dataset.name,
                i0,
                i1,
            )
        sliced = dataset.slice_by_idx(start, stop)
        return sliced.group(np.zeros(stop - start, dtype=int), name=dataset.name)
    rows = np.zeros(n_e, dtype=bool)
    rows[i0 : i1 + 1] = True
    fit = arrays.mask_fit if arrays.mask_fit is not None else np.ones(arrays.shape, bool)
    mask = rows[:, None] & fit
    if not np.any(mask & arrays.mask_safe):
        return None
    copy = dataset.copy(name=dataset.name)
    _set_mask_fit(copy, mask)
    return copy


def _datasets_gti(datasets):
    """GTI of the datasets as an astropy Table (START, STOP in s), or None."""
    from astropy.table import Table

    starts, stops, header = [], [], None
    for dataset in datasets:
        gti = getattr(dataset, "gti", None)
        if gti is None:
            continue
        if isinstance(gti, Table):
            starts.append(np.asarray(gti["START"], float))
            stops.append(np.asarray(gti["STOP"], float))
        elif hasattr(gti, "start") and hasattr(gti, "stop"):
            starts.append(np.asarray(gti.start, float))
            stops.append(np.asarray(gti.stop, float))
            header = header or getattr(gti, "header", None)
    if not starts:
        return None
    start = np.concatenate(starts)
    stop = np.concatenate(stops)
    order = np.argsort(start)
    table = Table({"START": start[order], "STOP": stop[order]})
    table["START"].unit = u.s
    table["STOP"].unit = u.s
    if header is not None:
        for key in ("MJDREFI", "MJDREFF", "TIMESYS", "TIMEUNIT", "TIMEREF"):
            if key in header:
                table.meta[key] = header[key]
    return table
